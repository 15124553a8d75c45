use chrono::NaiveDate;
use tandem_domain::demo;
fn main() {
    let d = demo::organisation(NaiveDate::from_ymd_opt(2026, 11, 4).unwrap());
    println!(
        "teams {} users {} memberships {} projects {} goals {} versions {} stages {} items {} risks {} metrics {} points {} decisions {}",
        d.teams.len(),
        d.users.len(),
        d.memberships.len(),
        d.projects.len(),
        d.goals.len(),
        d.goal_versions.len(),
        d.stages.len(),
        d.work_items.len(),
        d.risks.len(),
        d.metrics.len(),
        d.points.len(),
        d.decisions.len()
    );
    for t in &d.teams {
        let items: Vec<_> = d.work_items.iter().filter(|i| i.team_id == t.id).collect();
        let mut kinds = std::collections::BTreeMap::new();
        let mut states = std::collections::BTreeMap::new();
        let mut prio = std::collections::BTreeMap::new();
        for i in &items {
            *kinds.entry(i.kind.as_str()).or_insert(0) += 1;
            *states.entry(i.state.as_str()).or_insert(0) += 1;
            *prio.entry(i.priority.as_str()).or_insert(0) += 1;
        }
        println!(
            "{} {} items {:?} {:?} {:?} linked {}",
            t.key,
            items.len(),
            kinds,
            states,
            prio,
            items.iter().filter(|i| i.goal_id.is_some()).count()
        );
    }
    for g in &d.goals {
        println!(
            "goal {} {} v{} {:?} {:?}",
            g.status, g.title, g.version, g.timeline.starts_on, g.timeline.deadline
        );
    }
    for v in &d.goal_versions {
        println!(
            "  v{} {} {} {} {:?}",
            v.version,
            v.action,
            v.changed_at,
            v.changed_by,
            v.changes
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>()
        );
    }
    for i in d.work_items.iter().rev().take(25) {
        println!(
            "{} {:?} {} {} {} {} c={} s={:?} d={:?} ctx={:?}",
            i.external_key.as_deref().unwrap(),
            i.title,
            i.kind,
            i.priority,
            i.state,
            i.goal_id.is_some(),
            i.created_at,
            i.started_at,
            i.done_at,
            i.context.current_value
        );
    }
    for i in d
        .work_items
        .iter()
        .filter(|i| i.state != tandem_domain::work_item::WorkState::Done)
    {
        println!(
            "OPEN {} {:?} {} {}",
            i.external_key.as_deref().unwrap(),
            i.title,
            i.kind,
            i.state
        );
    }
    let m = &d.metrics[1];
    println!(
        "{}: {:?}",
        m.key,
        d.points
            .iter()
            .filter(|p| p.metric_id == m.id)
            .map(|p| p.value)
            .collect::<Vec<_>>()
    );
    let m = &d.metrics[0];
    println!(
        "{}: {:?}",
        m.key,
        d.points
            .iter()
            .filter(|p| p.metric_id == m.id)
            .map(|p| p.value)
            .collect::<Vec<_>>()
    );
    for i in d.work_items.iter().filter(|i| i.goal_id.is_some()).take(6) {
        println!(
            "LINK {} {:?} {} {} c={} s={:?} d={:?} {:?}",
            i.external_key.as_deref().unwrap(),
            i.title,
            i.priority,
            i.state,
            i.created_at,
            i.started_at,
            i.done_at,
            i.context
        );
    }
    for r in &d.risks {
        println!(
            "RISK {} {} {} {} {:?}",
            r.title, r.likelihood, r.impact, r.status, r.closed_at
        );
    }
    for i in d.work_items.iter().take(5) {
        println!(
            "FIRST {} {:?} {} {} c={} d={:?}",
            i.external_key.as_deref().unwrap(),
            i.title,
            i.kind,
            i.state,
            i.created_at,
            i.done_at
        );
    }
    println!(
        "{}",
        d.work_items.iter().map(|i| i.title.len()).max().unwrap()
    );
}
#[allow(dead_code)]
fn more() {}
