"""ui.builds: each session's Stop, with a clock the test moves."""

from __future__ import annotations

from ui.builds import Builds


def test_a_stop_sets_only_its_own_sessions_flag():
    builds = Builds()
    with builds.running("ann") as ann, builds.running("bob") as bob:
        assert builds.stop("ann").startswith("Stopping your build")
        assert ann.is_set() and not bob.is_set()
        assert builds.busy() == 2
    assert builds.busy() == 0


def test_a_stop_before_the_build_waits_for_it_within_the_grace_time():
    now = [0.0]
    builds = Builds(grace=60.0, clock=lambda: now[0])
    with builds.running("bob"):
        reply = builds.stop("ann")
    assert "nothing of yours is being built yet" in reply and "1 build of other users running" in reply
    now[0] = 59.0
    with builds.running("ann") as flag:
        assert flag.is_set()  # the Stop that came first
    with builds.running("ann") as flag:
        assert not flag.is_set()  # used up
    builds.stop("ann")
    now[0] = 200.0
    with builds.running("ann") as flag:
        assert not flag.is_set()  # too old: a Stop pressed long before is not held against a new build


def test_two_builds_of_one_session_share_its_stop():
    builds = Builds()
    with builds.running("ann") as first, builds.running("ann") as second:
        builds.stop("ann")
        assert first.is_set() and second.is_set()


def test_stops_that_wait_in_vain_are_forgotten():
    now = [0.0]
    builds = Builds(grace=60.0, clock=lambda: now[0])
    for i in range(100):
        builds.stop(f"s{i}")
    now[0] = 100.0
    builds.stop("last")
    assert list(builds._flags) == ["last"]
