"""Monitoring and reporting: the indicators a province reports (DOMAIN.md), the 766/QĐ-TTg
scorecard, and the lists of dossiers behind each figure.

- `tables`: the fact and rollup tables (migration 0006);
- `facts`: what each dossier and task contributes, measured with the engine's calendar and clock;
- `rollup`: keeps facts and rollups in step with the event stream (`refresh`, `rebuild`);
- `filters`: the period, agency and procedure a report is about;
- `indicators`: the dashboard figures; `behind`: the dossiers behind each one;
- `scorecard`: the 766/QĐ-TTg groups per agency;
- `bulk`: COPY / executemany writes for the rebuild and the seeder (engine/seeding).
"""

from engine.reports import tables as tables  # noqa: F401 - registers the tables on the models' metadata
