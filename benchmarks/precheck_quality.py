"""Precheck quality on the seeded corpus of `precheck_corpus.py` (issue 15): per-rule recall on one-defect cases,
overall recall (errors and warnings counted) and the false-alarm rate on clean cases.

A defect case counts as caught when its rule fires; a clean case is a false alarm when any rule fires (error or
warning). The precheck runs as `Claim/$precheck` runs it: with the claim file, the history and the E-Klaim payload
checks. Usage: `python benchmarks/precheck_quality.py [--clean N] [--per-rule N] [--seed N]`; the last line reads
`recall=…% false_alarms=…% rules=…`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from precheck_corpus import CorpusCase, clean_cases, defect_cases  # noqa: E402

from fhirclaim.claims.precheck import precheck, rule_ids  # noqa: E402


def fired(case: CorpusCase) -> list[str]:
    issues = precheck(case.context(), case.history(), with_mapping=True, record=case.record())
    return [i.details_code or "(no rule id)" for i in issues]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean", type=int, default=300)
    parser.add_argument("--per-rule", type=int, default=4)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    caught, total, alarms_by_rule = Counter(), Counter(), Counter()
    for case in defect_cases(args.per_rule, seed=1000 + args.seed):
        total[case.defect] += 1
        caught[case.defect] += case.defect in fired(case)
    clean = clean_cases(args.clean, seed=args.seed)
    alarms = 0
    for case in clean:
        codes = fired(case)
        alarms += bool(codes)
        alarms_by_rule.update(set(codes))
    print(f"{'rule':45} {'caught':>7}  recall")
    for rule in sorted(total):
        print(f"{rule:45} {caught[rule]:>3}/{total[rule]:<3}  {100 * caught[rule] / total[rule]:5.1f} %")
    for rule, count in alarms_by_rule.most_common():
        print(f"false alarm: {rule} on {count} clean cases")
    uncovered = sorted(set(rule_ids()) - set(total))
    if uncovered:
        print(f"rules without a defect case: {', '.join(uncovered)}")
    recall = 100 * sum(caught.values()) / sum(total.values())
    print(f"defect cases {sum(total.values())}, clean cases {len(clean)}, causes caught "
          f"{sum(1 for r in total if caught[r] == total[r])}/{len(total)}")
    print(f"recall={recall:.1f}% false_alarms={100 * alarms / len(clean):.1f}% rules={len(rule_ids())}")


if __name__ == "__main__":
    main()
