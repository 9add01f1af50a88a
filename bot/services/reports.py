"""What an ingest run did, as plain data for the CLI (--json), the web app and tasks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class ItemRef:
    id: int
    title: str
    url: str | None


@dataclass
class SourceReport:
    target: str                  # what was asked for (URL, path, "webhook")
    source_id: int | None = None
    status: str = "ok"           # ok | not-modified | failed | bad-input
    note: str | None = None      # e.g. which feed autodiscovery chose
    error: str | None = None
    added: list[ItemRef] = field(default_factory=list)
    updated: list[ItemRef] = field(default_factory=list)
    unchanged: list[ItemRef] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)   # {"where", "reason"}
    warnings: list[str] = field(default_factory=list)
    # Set when a page's discovered feed turned out to be this other source already.
    duplicate_of: int | None = None


@dataclass
class IngestReport:
    sources: list[SourceReport] = field(default_factory=list)

    def _all(self, name: str) -> list:
        return [item for report in self.sources for item in getattr(report, name)]

    @property
    def failed(self) -> bool:
        return any(r.status == "failed" for r in self.sources)

    @property
    def bad_input(self) -> bool:
        return any(r.status == "bad-input" for r in self.sources)

    def to_dict(self) -> dict:
        return {
            "added": [asdict(i) for i in self._all("added")],
            "updated": [asdict(i) for i in self._all("updated")],
            "unchanged": [asdict(i) for i in self._all("unchanged")],
            "rejected": self._all("rejected"),
            "sources": [
                {"target": r.target, "source_id": r.source_id, "status": r.status,
                 "note": r.note, "error": r.error, "warnings": r.warnings,
                 "added": len(r.added), "updated": len(r.updated),
                 "unchanged": len(r.unchanged), "rejected": len(r.rejected)}
                for r in self.sources
            ],
        }
