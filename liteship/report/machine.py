"""The report's "Machine and versions" section: where the run's numbers were measured, in sentences true of its mix
(this machine's times and counts alone; a device's imported medians; predictions from counts), then this machine's
facts. A phone's numbers are never said to be this machine's, nor this machine's to be a phone's."""

from __future__ import annotations

from liteship.bench import BenchRecord
from liteship.judge import is_predicted
from liteship.report.document import Para, Section, Table
from liteship.versions import measured_where


def _device_facts(record: BenchRecord) -> str:
    """" (A15, iOS 17.4, LiteRT 2.2.0)": what the import read of the device, where it said."""
    d = record.device or {}
    facts = [d.get("chip"), d.get("os"), f"LiteRT {d['runtime_version']}" if d.get("runtime_version") else None]
    return f" ({', '.join(str(f) for f in facts if f)})" if any(facts) else ""


def _phone_sentence(record: BenchRecord) -> str:
    """Where a device's or a prediction's numbers come from, as MODEL.md says it."""
    d = record.device or {}
    name = d.get("device") or record.node or record.backend
    if is_predicted(record):
        n = len(d.get("rests_on") or ()) or (d.get("fit") or {}).get("measurements") or "its"
        return (f"the {record.backend} numbers were measured on no phone: each is predicted from the variant's "
                f"{d.get('profile')} instruction count by a calibration fitted on {n} measurements of other variants "
                f"on the {name} (each measured on the device by its own benchmark tool and imported)")
    return (f"the {record.backend} numbers were measured on the {name}{_device_facts(record)} by the device's own "
            "benchmark tool and imported (`liteship device import`), not on this machine")


def where_measured(records: list[BenchRecord], here: BenchRecord) -> str:
    """The section's first paragraph: ``measured_where`` of this machine alone ("...: not on a phone") where every
    number is this machine's; else each device's and prediction's backend said first, and this machine's words for
    every other number and for the table below."""
    said = dict.fromkeys(_phone_sentence(r) for r in records
                         if r.kind.times and not r.kind.here and r.status == "ok" and r.device)
    mine = measured_where(here.system, here.runtime)
    if not said:
        return mine
    return (f"Where: {'; '.join(said)}. Every other number, and the table below: {mine[:1].lower()}{mine[1:]}")


def machine_section(records: list[BenchRecord]) -> Section:
    """This machine's CPU, OS, options and tool versions, after where every number was measured."""
    rec = next((r for r in records if r.kind.times and r.kind.here and r.status == "ok"),
               next((r for r in records if r.kind.here), records[0] if records else None))
    if rec is None:
        return Section("Machine and versions", "machine", (Para("No records."),))
    s = rec.system
    opts = rec.options or {}
    blocks = [Para(where_measured(records, rec)),
              Table(("what", "value"), (("CPU", str(s.get("cpu"))), ("cores", str(s.get("cores"))),
                                        ("OS", str(s.get("os"))), ("node", str(rec.node)),
                                        *((f"{k}", str(v)) for k, v in sorted(opts.items())),
                                        *((k, str(v)) for k, v in sorted((s.get("versions") or {}).items()))))]
    if rec.data:
        blocks.append(Para(f"Accuracy scored on {rec.data.get('images')} images of the {rec.data.get('split')} split "
                           f"of {rec.data.get('source')} (content hash {str(rec.data.get('content_hash'))[:12]})."))
    return Section("Machine and versions", "machine", tuple(blocks), folded=True)
