"""A short tour of the API through a client generated from docs/openapi.json
by openapi-python-client (scripts/schemathesis.sh generates it and runs this
against `tandem serve --demo`).

The generated client parses every answer into the models the document
describes: a missing required field, an enum value the document does not
list, or a status it does not name fails here. Fields the document does not
list fail too: each model keeps them aside, and `documented` refuses them.

Environment: TANDEM_URL (the server), TANDEM_TOKEN (a manager's API token).
"""

import datetime
import os
import sys

import attrs

from tandem_client import AuthenticatedClient
from tandem_client.api.auth import me
from tandem_client.api.delivery import dora
from tandem_client.api.forecasts import goal_forecast
from tandem_client.api.goals import create_goal, get_goal, transition_goal
from tandem_client.api.teams import list_teams
from tandem_client.models import (
    Direction,
    DoraLevel,
    DoraReport,
    Goal,
    GoalForecast,
    GoalStatus,
    GoalTransition,
    Me,
    NewGoal,
    PageTeam,
    Parties,
    Role,
    SuccessMetric,
    Timeline,
)
from tandem_client.types import Unset


def documented(value, where="answer"):
    """Fails when `value` (a parsed model, recursively) held a field the
    document does not describe."""
    if attrs.has(type(value)):
        extra = getattr(value, "additional_properties", {})
        if extra:
            sys.exit(f"client tour: {where} has undocumented fields: {sorted(extra)}")
        for field in attrs.fields(type(value)):
            if field.name != "additional_properties":
                documented(getattr(value, field.name), f"{where}.{field.name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            documented(item, f"{where}[{i}]")


def call(endpoint, expected, status, **kwargs):
    """Calls `endpoint` and returns its parsed answer, which must be of type
    `expected`, with `status`, and wholly documented."""
    response = endpoint.sync_detailed(client=client, **kwargs)
    name = endpoint.__name__.rsplit(".", 1)[-1]
    if response.status_code != status or not isinstance(response.parsed, expected):
        sys.exit(
            f"client tour: {name} answered {response.status_code.value} "
            f"{response.content[:500]!r}; expected {status} and a {expected.__name__}"
        )
    documented(response.parsed, name)
    print(f"client tour: {name}: {status} {expected.__name__}")
    return response.parsed


client = AuthenticatedClient(
    base_url=os.environ["TANDEM_URL"],
    token=os.environ["TANDEM_TOKEN"],
    raise_on_unexpected_status=True,
)

# Signed in with the token: who am I?
who = call(me, Me, 200)
assert who.role == Role.MANAGER, who.role

# The demo's teams.
teams = call(list_teams, PageTeam, 200, limit=50)
keys = {team.key: team for team in teams.items}
assert "payments" in keys, sorted(keys)
payments = keys["payments"]

# A goal with a deadline and a success metric.
today = datetime.date.today()
new = NewGoal(
    team_id=payments.id,
    title="Checkout answers in under 300 ms",
    business_goal="Fewer abandoned baskets at peak",
    hypotheses=["Slow checkout loses customers"],
    parties=Parties(owner="maria", requester="lee"),
    success_metrics=[
        SuccessMetric(
            metric="p95 checkout latency",
            baseline=900.0,
            target=300.0,
            unit="ms",
            direction=Direction.DOWN,
        )
    ],
    timeline=Timeline(starts_on=today, deadline=today + datetime.timedelta(days=90)),
)
goal = call(create_goal, Goal, 201, body=new)
assert goal.status == GoalStatus.DRAFT, goal.status
assert goal.team_id == payments.id
again = call(get_goal, Goal, 200, id=goal.id)
assert again.title == new.title and again.id == goal.id

# Agreed (forecasts are made for agreed goals), then its forecast.
agreed = call(transition_goal, Goal, 200, id=goal.id, transition=GoalTransition.AGREE)
assert agreed.status == GoalStatus.AGREED and agreed.version == 1, (agreed.status, agreed.version)
forecast = call(goal_forecast, GoalForecast, 200, id=goal.id)
assert forecast.goal_id == goal.id, forecast.goal_id
assert forecast.deadline == today + datetime.timedelta(days=90), forecast.deadline

# The team's DORA keys over the last quarter: the demo deploys, so there is
# a frequency and a level.
report = call(
    dora, DoraReport, 200, team="payments", since=today - datetime.timedelta(days=90)
)
assert report.since == today - datetime.timedelta(days=90), report.since
frequency = report.deployment_frequency
assert frequency.deployments > 0, frequency
assert isinstance(frequency.level, DoraLevel), frequency.level
assert report.buckets, "no buckets"

print("client tour: done")
