"""The planned night: which inputs a night processes and which it skips, decided without starting anything."""
from desghost.runners.night import plan_night


def test_done_inputs_are_skipped_and_earlier_failures_wait_for_retry():
    paths = ["/n/a.fits", "/n/b.fits", "/n/c.fits", "/n/d.fits"]
    failure = ("/n/b.fits", "not a FITS file", 3)
    plan = plan_night(paths, done={"/n/a.fits", "/n/d.fits"}, earlier_failures={"/n/b.fits": failure})
    assert plan.todo == ["/n/c.fits"]
    assert plan.skipped == [("/n/a.fits", "done"), ("/n/b.fits", "failed before; --retry-failed to retry"),
                            ("/n/d.fits", "done")]
    assert plan.still_failed == [failure]


def test_done_wins_over_an_earlier_failure_and_nothing_known_processes_everything_in_order():
    paths = ["/n/z.fits", "/n/a.fits"]
    plan = plan_night(paths, done={"/n/a.fits"}, earlier_failures={"/n/a.fits": ("/n/a.fits", "x", 4)})
    assert plan.todo == ["/n/z.fits"] and plan.still_failed == [] and plan.skipped == [("/n/a.fits", "done")]
    assert plan_night(paths, set(), {}).todo == paths
