# Licensed under a 3-clause BSD style license - see LICENSE
"""The hostile cases of issue 18, by surface, each run in its own capped child process.

``tests/test_hostile_round3.py`` runs every case as a test;
``benchmarks/hostile_census.py`` runs them against any checkout and counts,
per surface, the cases tried and mishandled. What a case is:
`hostile_case`; the cases: `hostile_cases_services` (discovery, IBE answers,
slow answers) and `hostile_cases_local` (arguments and names, the download
folder, input files).
"""

from hostile_case import Services
from hostile_cases_local import FILES, INPUTS, MESSAGES
from hostile_cases_services import DISCOVERY, IBE, TIME

__all__ = ["CASES", "Services"]

#: Every case, by surface.
CASES = {
    "discovery": DISCOVERY,
    "ibe": IBE,
    "time": TIME,
    "messages": MESSAGES,
    "files": FILES,
    "inputs": INPUTS,
}
