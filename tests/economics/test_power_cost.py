import pytest

from trnsim.economics import (PowerModel, Utilization, chip_power, system_power, system_price,
                              usd_per_million_tokens)
from trnsim.errors import TrnsimError
from trnsim.hardware import load_chip, load_system


def test_power_bounds_idle_to_tdp():
    h100 = load_chip("h100")
    m = PowerModel.default()
    assert chip_power(h100, Utilization()) == pytest.approx(700 * m.idle_fraction)
    assert chip_power(h100, Utilization(1, 1, 1)) == pytest.approx(700)
    assert chip_power(h100, Utilization(5, 5, 5)) == pytest.approx(700)  # clipped
    half = chip_power(h100, Utilization(compute=1.0))
    assert 700 * m.idle_fraction < half < 700


def test_power_override_and_missing_tdp():
    h100 = load_chip("h100")
    assert chip_power(h100, Utilization(1, 1, 1), tdp_w=500) == pytest.approx(500)
    nodp = h100.model_copy(update={"tdp": None})
    with pytest.raises(TrnsimError, match="has no TDP"):
        chip_power(nodp, Utilization())


def test_system_power_includes_host_and_pue():
    p5 = load_system("p5.48xlarge")
    m = PowerModel.default().with_(pue=1.0)
    b = system_power(p5, Utilization(1, 1, 1), model=m)
    assert b.chips_w == pytest.approx(8 * 700)
    assert b.facility_w == pytest.approx(b.it_w) and b.it_w > b.chips_w
    b2 = system_power(p5, Utilization(1, 1, 1), model=m.with_(pue=1.5))
    assert b2.facility_w == pytest.approx(1.5 * b2.it_w)


def test_prices():
    p5 = load_system("p5.48xlarge")
    full = system_price(p5)
    assert full.usd_per_hour > 0
    assert system_price(p5, chips=4).usd_per_hour == pytest.approx(full.usd_per_hour / 2)
    assert system_price(p5, user_usd_per_chip_hour=2.0).usd_per_hour == pytest.approx(16.0)
    with pytest.raises(TrnsimError, match="unknown price kind"):
        system_price(p5, kind="spot")
    assert usd_per_million_tokens(1000.0, 36.0) == pytest.approx(10.0)
