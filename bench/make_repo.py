#!/usr/bin/env python3
"""Generate a deterministic synthetic git repository for the git import
benchmark (BENCHMARKS.md, "Git import").

    bench/make_repo.py OUT_DIR [--commits 100000] [--seed 42]

The history is written as a `git fast-import` stream, so it takes seconds,
not hours. Same arguments, same repository: same commit ids, byte for byte.

Shape:
- one branch, `main`, of COMMITS commits in total (merge commits included);
- every 40th commit on main is a merge commit of a side branch of three
  commits that started at the previous merge (so about 2.5 % merges and
  7.5 % of commits on side branches), as in a team that merges pull
  requests with merge commits;
- each ordinary commit changes 2 to 5 text files (edits a few lines, adds
  or removes lines, sometimes adds a new file or deletes one) out of a
  working set of about 3,000 files in 60 directories;
- authors from a pool of 25 with four UTC offsets; one commit every ~10
  minutes from 2021-01-04;
- a tag every 1,000 commits.

Only the Python standard library and `git` are needed.
"""

import argparse
import os
import random
import subprocess
import sys

BASE_TIME = 1_609_750_800  # 2021-01-04T09:00:00Z
OFFSETS = ["+0000", "+0100", "-0500", "+0530"]
WORDS = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
    "omicron pi rho sigma tau upsilon phi chi psi omega payment invoice ledger "
    "account balance refund charge customer order cart session token cache "
    "queue worker retry timeout config metric trace span error result value"
).split()
MERGE_EVERY = 40
SIDE_COMMITS = 3


class Repo:
    def __init__(self, rng):
        self.rng = rng
        self.files = {}  # path -> list of lines
        self.paths = []  # ordered, for deterministic choice
        self.mark = 0

    def line(self):
        r = self.rng
        return " ".join(r.choice(WORDS) for _ in range(r.randint(2, 7)))

    def new_path(self, prefix):
        r = self.rng
        while True:
            path = f"{prefix}src/mod{r.randint(0, 59):02d}/file{r.randint(0, 99999):05d}.txt"
            if path not in self.files:
                return path

    def add_file(self, prefix=""):
        path = self.new_path(prefix)
        self.files[path] = [self.line() for _ in range(self.rng.randint(8, 40))]
        self.paths.append(path)
        return path

    def edit(self, path):
        r = self.rng
        lines = self.files[path]
        for _ in range(r.randint(1, 3)):
            op = r.random()
            i = r.randrange(len(lines) + 1)
            if op < 0.45 and lines:
                lines[min(i, len(lines) - 1)] = self.line()
            elif op < 0.8 or len(lines) < 4:
                for _ in range(r.randint(1, 4)):
                    lines.insert(i, self.line())
            else:
                del lines[min(i, len(lines) - 1) : min(i, len(lines) - 1) + r.randint(1, 3)]
        if not lines:
            lines.append(self.line())

    def changes(self, prefix=""):
        """Applies one commit's worth of changes; returns (modified, deleted)."""
        r = self.rng
        modified, deleted = [], []
        pool = [p for p in self.paths if p.startswith(prefix)] if prefix else self.paths
        for _ in range(r.randint(2, 5)):
            roll = r.random()
            if roll < 0.08 or len(pool) < 50:
                path = self.add_file(prefix)
                pool.append(path) if prefix else None
                modified.append(path)
            elif roll < 0.10 and len(pool) > 50:
                path = pool[r.randrange(len(pool))]
                if path in modified:
                    continue
                del self.files[path]
                self.paths.remove(path)
                if prefix:
                    pool.remove(path)
                deleted.append(path)
            else:
                path = pool[r.randrange(len(pool))]
                if path in deleted:
                    continue
                self.edit(path)
                if path not in modified:
                    modified.append(path)
        return modified, deleted


def data(out, payload):
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def write_commit(out, repo, n, ref, parents, modified, deleted, message):
    rng = repo.rng
    repo.mark += 1
    mark = repo.mark
    author = rng.randrange(25)
    offset = OFFSETS[author % len(OFFSETS)]
    when = BASE_TIME + n * 600 + rng.randint(0, 300)
    out.write(b"commit %s\nmark :%d\n" % (ref.encode(), mark))
    ident = f"Dev {author:02d} <dev{author:02d}@example.com> {when} {offset}".encode()
    out.write(b"author " + ident + b"\n")
    out.write(b"committer " + ident + b"\n")
    data(out, message.encode())
    if parents:
        out.write(b"from :%d\n" % parents[0])
        for p in parents[1:]:
            out.write(b"merge :%d\n" % p)
    for path in deleted:
        out.write(b"D %s\n" % path.encode())
    for path in modified:
        out.write(b"M 100644 inline %s\n" % path.encode())
        data(out, ("\n".join(repo.files[path]) + "\n").encode())
    out.write(b"\n")
    return mark


def generate(out, commits, seed):
    rng = random.Random(seed)
    repo = Repo(rng)
    for _ in range(3000):
        repo.add_file()
    # Root commit with the whole working set.
    head = write_commit(out, repo, 0, "refs/heads/main", [], sorted(repo.files), [], "Initial import\n")
    made = 1
    side_base = head
    tags = 0
    while made < commits:
        if made % MERGE_EVERY == 0 and commits - made > SIDE_COMMITS:
            # A side branch of three commits from the last merge point,
            # touching its own files, then a merge commit on main.
            side = side_base
            side_changed = set()
            for k in range(SIDE_COMMITS):
                modified, deleted = repo.changes(prefix="")
                side_changed.update(modified)
                side = write_commit(
                    out, repo, made, "refs/heads/side", [side], modified, deleted,
                    f"Side work {made}.{k}\n\nPart of pull request #{made}.\n",
                )
                made += 1
            # The merge takes main's tree and the side branch's files.
            merged = sorted(p for p in side_changed if p in repo.files)
            removed = sorted(p for p in side_changed if p not in repo.files)
            head = write_commit(
                out, repo, made, "refs/heads/main", [head, side], merged, removed,
                f"Merge pull request #{made} from side\n",
            )
            made += 1
            side_base = head
        else:
            modified, deleted = repo.changes()
            head = write_commit(
                out, repo, made, "refs/heads/main", [head], modified, deleted,
                f"Change {made}: {repo.line()}\n",
            )
            made += 1
        if made // 1000 > tags:
            tags = made // 1000
            out.write(b"reset refs/tags/v%d.0\nfrom :%d\n\n" % (tags, head))
    out.write(b"reset refs/heads/side\nfrom :%d\n\n" % head)
    return made


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="directory to create (must not exist)")
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if os.path.exists(args.out):
        sys.exit(f"error: {args.out} exists; remove it or pick another directory")
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
    subprocess.run(["git", "init", "-q", "-b", "main", args.out], check=True, env=env)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=args.out, stdin=subprocess.PIPE, env=env,
    )
    out = proc.stdin
    made = generate(out, args.commits, args.seed)
    out.write(b"done\n")
    out.close()
    if proc.wait() != 0:
        sys.exit("error: git fast-import failed")
    subprocess.run(["git", "checkout", "-q", "main"], cwd=args.out, check=True, env=env)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=args.out, check=True, env=env, capture_output=True, text=True
    ).stdout.strip()
    print(f"{args.out}: {made} commits, HEAD {head}")


if __name__ == "__main__":
    main()
