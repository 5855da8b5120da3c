# Licensed under a 3-clause BSD style license - see LICENSE
"""Issue 18's hostile cases against a checkout: per surface, tried and mishandled.

Run from the project root::

    python benchmarks/hostile_census.py                      # this checkout
    python benchmarks/hostile_census.py --code /tmp/base     # another one

The cases are ``tests/servers/hostile_cases.py`` (the ones
``tests/test_hostile_round3.py`` runs); each runs in its own child process of
``tests/servers/hostile_child.py``, which
imports the twomass_vo of ``--code``, under an address-space cap, a file-size
cap and a time limit, against the IRSA stand-in and the hostile server on
127.0.0.1. Printed: one line per case (handled, or what was mishandled, and
the time it took), then a line per surface: cases tried, cases mishandled.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "servers"))

from hostile_cases import CASES, Services  # noqa: E402
from hostile_child import CaseRunner  # noqa: E402
from hostile_server import HostileServer  # noqa: E402
from irsa_standin import IrsaStandIn  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=HERE.parent)
    parser.add_argument("--surface", action="append", help="only these surfaces")
    parser.add_argument("-k", help="only the cases whose id contains this")
    args = parser.parse_args(argv)

    from twomass_vo.archives import LocalArchive

    with tempfile.TemporaryDirectory(prefix="hostile-census-") as tmp:
        tmp = Path(tmp)
        patch = LocalArchive.simulate(tmp / "patch", "10.6846 41.2689", 0.03)
        key = int(patch.columns["coadd_key"][0])
        totals = {}
        with (
            IrsaStandIn(patch) as standin,
            HostileServer() as hostile,
            CaseRunner(tmp / "home", code=args.code.resolve()) as runner,
        ):
            services = Services(standin=standin, hostile=hostile, key=key)
            for surface, cases in CASES.items():
                if args.surface and surface not in args.surface:
                    continue
                for number, case in enumerate(cases):
                    if args.k and args.k not in case.id:
                        continue
                    folder = tmp / "cases" / f"{surface}-{number}"
                    folder.mkdir(parents=True)
                    services.reset(folder)
                    start = time.perf_counter()
                    out = runner.run(
                        case.code(services), memory=case.memory, seconds=case.seconds
                    )
                    took = time.perf_counter() - start
                    problems = case.problems(out, services)
                    tried, bad = totals.get(surface, (0, 0))
                    totals[surface] = (tried + 1, bad + bool(problems))
                    verdict = "MISHANDLED: " + "; ".join(problems) if problems else "ok"
                    print(f"{case.id:45s} {took:6.1f} s  {verdict[:300]}", flush=True)
    print()
    for surface, (tried, bad) in totals.items():
        print(f"{surface:12s} {tried:3d} cases tried, {bad:3d} mishandled")
    print(
        f"{'all':12s} {sum(t for t, _ in totals.values()):3d} cases tried, "
        f"{sum(b for _, b in totals.values()):3d} mishandled"
    )


if __name__ == "__main__":
    main()
