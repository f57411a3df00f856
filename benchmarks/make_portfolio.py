"""Choose each task's shipped portfolio (``search_spaces/portfolios/<task>.yaml``) from measurements.

For each task, ``--draws`` random draws of its shipped space train on the first of 5 folds of the
task's built-in data (Keras, as ``automl spaces check`` does); the ``--size`` best draws that
differ from the space's defaults become the portfolio: a new study tries them right after the
defaults. The file says how it was made.

    python benchmarks/make_portfolio.py --draws 30 --size 3
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=["image", "tabular", "text"])
    parser.add_argument("--draws", type=int, default=30)
    parser.add_argument("--size", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from automl.logs import quiet_frameworks
    from automl.run.health import check_space_health
    from automl.run.settings import SearchSettings
    from automl.space import load_space

    quiet_frameworks()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    for task in args.tasks:
        report = check_space_health(SearchSettings(task=task), draws=args.draws, seed=args.seed)
        defaults = load_space(task).defaults()
        ranked = sorted((d for d in report.draws if not d.failed and d.params != defaults), key=lambda d: -d.score)
        chosen = ranked[: args.size]
        header = [
            f"# The {task} portfolio: configurations a new study of the {task} space tries right after its defaults.",
            f"# Chosen by benchmarks/make_portfolio.py --draws {args.draws} --size {args.size} --seed {args.seed}"
            f" at {commit.stdout.strip()} on {datetime.date.today()}: the best {len(chosen)} of {args.draws} random",
            f"# draws of search_spaces/{task}.yaml, each trained on the first of 5 folds of the built-in {task} data",
            f"# (Keras); their {report.metric} on that fold: {', '.join(f'{d.score:.4f}' for d in chosen)}"
            f" (the defaults: {report.default_score:.4f}).",
        ]
        body = yaml.safe_dump({"configurations": [d.params for d in chosen]}, sort_keys=False)
        path = ROOT / "search_spaces" / "portfolios" / f"{task}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text("\n".join(header) + "\n" + body)
        print(f"{path}: {', '.join(f'{d.score:.4f}' for d in chosen)}", flush=True)


if __name__ == "__main__":
    main()
