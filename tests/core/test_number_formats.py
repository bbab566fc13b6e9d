"""The number formats every layer writes with (liteship.number_formats), against strings written by hand."""

from liteship.number_formats import change_pt, change_with_interval, millions, num, percent_change, points, pt, \
    pt_interval, signed


def test_points_carry_their_sign_and_never_read_minus_zero():
    assert pt(0.0074) == "+0.74 pt" and pt(-0.012) == "-1.20 pt"
    assert pt(-0.0) == pt(0.0) == "+0.00 pt" and pt(-0.00001) == "+0.00 pt"  # -0.001 pt rounds to +0.00, never -0.00
    assert points(0.5) == "+50.00" and pt(None) == "–"


def test_a_drop_is_written_as_the_change():
    assert change_pt(0.0074) == "-0.74 pt" and change_pt(-0.026) == "+2.60 pt"
    # drop 0.74 points with a 95 % interval of the drop [-0.37, 2.23]: the change is -0.74 [-2.23, +0.37]
    assert change_with_interval(0.0074, (-0.0037, 0.0223)) == "-0.74 pt [-2.23, +0.37]"
    assert change_with_interval(0.0074, None) == "-0.74 pt"


def test_intervals_and_millions():
    assert pt_interval(-0.0223, 0.0037) == "[-2.23, +0.37]" and pt_interval(None, 0.1) == "–"
    assert millions(1_234_567) == "1.235 M" and millions(2_500_000, ".1f") == "2.5 M" and millions(None) == "–"
    assert num(None, ".3f") == "–" and num(1.23456, ".2f") == "1.23"


def test_signed_numbers_and_percent_changes_never_read_minus_zero():
    assert signed(0.74) == "+0.74" and signed(-1.2) == "-1.20" and signed(-0.004) == "+0.00" and signed(None) == "–"
    assert signed(-0.0) == "+0.00" and signed(-1234.5, ",.1f") == "-1,234.5" and signed(-0.04, ".1f") == "+0.0"
    assert percent_change(0.1234) == "+12.34 %" and percent_change(-0.05) == "-5.00 %"
    assert percent_change(-0.0) == "+0.00 %" and percent_change(-0.004, ".0f") == "+0 %" and percent_change(None) == "–"


def test_report_format_is_the_same_functions():
    import liteship.number_formats as core
    import liteship.report.format as report

    assert report.change_pt is core.change_pt and report.pt is core.pt
