import pytest

from trnsim.sim import Simulator


def test_events_run_in_time_then_schedule_order():
    sim = Simulator()
    seen = []
    sim.at(2.0, seen.append, "b")
    sim.at(1.0, seen.append, "a")
    sim.at(2.0, seen.append, "c")
    assert sim.run() == 2.0
    assert seen == ["a", "b", "c"]


def test_handlers_schedule_more_and_until_stops_clock():
    sim = Simulator()
    ticks = []

    def tick():
        ticks.append(sim.now)
        sim.after(1.0, tick)

    sim.at(0.0, tick)
    assert sim.run(until=3.5) == 3.5
    assert ticks == [0.0, 1.0, 2.0, 3.0]
    assert sim.pending == 1


def test_cancel_and_stop():
    sim = Simulator()
    seen = []
    ev = sim.at(1.0, seen.append, "x")
    ev.cancel()
    sim.at(2.0, sim.stop)
    sim.at(3.0, seen.append, "late")
    sim.run()
    assert seen == [] and sim.now == 2.0


def test_past_scheduling_rejected():
    sim = Simulator(start=5.0)
    with pytest.raises(ValueError):
        sim.at(4.0, print)
