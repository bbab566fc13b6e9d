"""How numbers are written for people: the formats live in core (:mod:`liteship.number_formats`), so judge and
optimize write "+0.74 pt" as reports do; the report's modules take them from here."""

from __future__ import annotations

from liteship.number_formats import (change_pt, change_with_interval, interval, millions, num, percent,
                                     percent_change, points, pt, pt_interval, signed, with_interval)

__all__ = ["change_pt", "change_with_interval", "interval", "millions", "num", "percent", "percent_change", "points",
           "pt", "pt_interval", "signed", "with_interval"]
