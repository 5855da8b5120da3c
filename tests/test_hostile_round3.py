# Licensed under a 3-clause BSD style license - see LICENSE
"""Issue 18: hostile services and inputs, every case in its own capped child process.

The cases are `hostile_cases.CASES` (by surface); each runs in a fork of the
`hostile_child` helper under an address-space cap, a file-size cap and a time
limit, against services on 127.0.0.1: the IRSA stand-in (`irsa_standin`),
whose ``TAP_SCHEMA`` and answers the case sets, and `hostile_server`. A case
passes when it is handled: the package's own exception naming the service
and the value, or the right answer; never another exception, a hang or a
memory blow-up.
"""

import pytest
from hostile_cases import CASES, Services
from hostile_server import HostileServer
from irsa_standin import IrsaStandIn

from twomass_vo.archives import LocalArchive

M31 = "10.6846 41.2689"


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    patch = LocalArchive.simulate(
        tmp_path_factory.mktemp("round3") / "patch", M31, 0.03
    )
    with IrsaStandIn(patch) as standin, HostileServer() as hostile:
        key = int(patch.columns["coadd_key"][0])
        yield Services(standin=standin, hostile=hostile, key=key)


ALL = [case for cases in CASES.values() for case in cases]


@pytest.mark.parametrize("case", ALL, ids=[case.id for case in ALL])
def test_case_is_handled(case, services, hostile_cases, tmp_path):
    services.reset(tmp_path)
    code = case.code(services)
    out = hostile_cases.run(code, memory=case.memory, seconds=case.seconds)
    problems = case.problems(out, services)
    assert not problems, f"{case.id}: {problems}\n{out.get('traceback', '')}"
