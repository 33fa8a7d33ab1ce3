"""Speed at a real manuscript's size (issue 13): the generated Manubot manuscript of
`bench.manuscript`, imported through the real importer, then

- a cold render: every section's fragment, the cited works' entries and the public
  assembly, with nothing stored beforehand;
- one section edited: from a changed body to the stored public render (the section
  rendered again, the manuscript re-assembled), median over 30 edits;
- the same edit through `revisions.save_edit`, as the editor's Save does it with the
  tasks run in-process (sync of citations and notes, render, both audiences);
- optionally (`--manubot`) a `manubot process` + `pandoc` build of the same folder,
  offline, when both are installed.

    .venv/bin/python -m bench.real_size                    # SQLite scratch file in /tmp
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench .venv/bin/python -m bench.real_size
    .venv/bin/python -m bench.real_size --profile          # cProfile of one edit and the cold render
    PATH=/path/to/manubot-venv/bin:$PATH .venv/bin/python -m bench.real_size --manubot

It empties the database it is given (migrate, flush): point it at a scratch one.
Only public entry points are used, so rendering may change underneath it.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import median_and_p90, setup_embedded_django
from bench.manuscript import generate, shape

PUBLIC = "public"


class Clock:
    """Wall and CPU milliseconds of a block (CPU of this process: SQLite's work is in
    it, PostgreSQL's server is not), the CPU one steadier on a shared machine."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_) -> None:
        self.wall = (time.perf_counter() - self._wall) * 1000
        self.cpu = (time.process_time() - self._cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.real_size", description=__doc__
    )
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--manubot", action="store_true", help="time a Manubot build too"
    )
    options = parser.parse_args()
    os.environ.setdefault(
        "DATABASE_URL", "sqlite:////tmp/reviewapp-bench-real-size.sqlite3"
    )
    setup_embedded_django()

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from sections import assembly, importing
    from sections.citations.keys import find_citekeys
    from sections.models import (
        Citation,
        FormattedEntry,
        ManuscriptRender,
        Reference,
        SectionRender,
    )

    work = Path(tempfile.mkdtemp(prefix="reviewapp-real-size-"))
    try:
        content = generate(work, seed=options.seed)
        print(
            f"generated: {shape(content)}; load average before: {os.getloadavg()[0]:.1f}"
        )
        call_command("migrate", verbosity=0)
        call_command("flush", interactive=False, verbosity=0)
        user = get_user_model().objects.create_user(
            "bench", "bench@example.org", "bench"
        )
        start = time.perf_counter()
        manuscript = importing.import_path(content.parent, format="manubot").manuscript
        imported = (time.perf_counter() - start) * 1000
        sections = list(manuscript.sections.present().order_by("position"))
        cited = Reference.objects.filter(manuscript=manuscript, citations__isnull=False)
        print(
            f"database: {connection.vendor}; imported in {imported:.0f} ms (the importer "
            f"with its in-process render): {len(sections)} sections, "
            f"{Citation.objects.filter(section__manuscript=manuscript).count()} citations "
            f"of {cited.distinct().count()} references, "
            f"{manuscript.references.count()} reference rows, "
            f"{FormattedEntry.objects.filter(reference__manuscript=manuscript).count()} "
            "formatted entries stored"
        )

        def cold() -> tuple[float, float]:
            SectionRender.objects.filter(section__manuscript=manuscript).delete()
            FormattedEntry.objects.filter(reference__manuscript=manuscript).delete()
            ManuscriptRender.objects.filter(manuscript=manuscript).delete()
            assembly._kept_references.clear()  # a fresh process: nothing remembered
            with Clock() as clock:
                assembly.render_sections(manuscript)  # what an import's render does
                assembly.assemble(manuscript, audience=PUBLIC)
            return clock.wall, clock.cpu

        colds = [cold() for _ in range(5)]
        walls, cpus = zip(*colds, strict=True)
        print(
            f"cold render to the stored public render: median {statistics.median(walls):.0f} ms "
            f"wall ({min(walls):.0f} best), {statistics.median(cpus):.0f} ms CPU of this "
            f"process, over {len(colds)}; entries formatted: "
            f"{FormattedEntry.objects.filter(reference__manuscript=manuscript).count()}"
        )
        # The section citing most (tag definitions, `[@tag:x]: doi:…`, are no citations).
        section = max(sections, key=lambda s: len(list(find_citekeys(s.body))))
        original = section.body
        assembly.assemble(manuscript, audience=PUBLIC)

        def edit(n: int) -> tuple[float, float]:
            with Clock() as clock:
                section.body = f"{original}\n\nEdit number {n}."
                section.save(update_fields=["body"])
                assembly.render_section(section)
                assembly.assemble(manuscript, audience=PUBLIC)
            return clock.wall, clock.cpu

        walls, cpus = zip(*[edit(n) for n in range(options.edits)], strict=True)
        median, p90 = median_and_p90(walls)
        print(
            f"one section edited ({len(original) / 1000:.1f} KB, "
            f"{len(list(find_citekeys(original)))} citations) to the stored public render: "
            f"median {median:.1f} ms wall, p90 {p90:.1f} ms; median "
            f"{statistics.median(cpus):.1f} ms CPU of this process; over {len(walls)} edits"
        )
        from sections import revisions

        def save(n: int) -> tuple[float, float]:
            latest = section.revisions.order_by("-created_at", "-id").first()
            with Clock() as clock:
                revisions.save_edit(
                    section,
                    title=section.title,
                    body=f"{original}\n\nSaved edit number {n}.",
                    base=latest.pk,
                    by=user,
                    summary="bench",
                )
            return clock.wall, clock.cpu

        walls, cpus = zip(*[save(n) for n in range(options.edits)], strict=True)
        median, p90 = median_and_p90(walls)
        print(
            f"the same through revisions.save_edit (sync, render, both audiences, "
            f"in-process): median {median:.1f} ms wall, p90 {p90:.1f} ms; median "
            f"{statistics.median(cpus):.1f} ms CPU; over {len(walls)}"
        )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        if options.profile:
            profile = cProfile.Profile()
            profile.runcall(edit, 999)
            print("\none edit, by cumulative time:")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
            profile = cProfile.Profile()
            profile.runcall(cold)
            print("\ncold render, by cumulative time:")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        if options.manubot:
            print(_manubot_build(content))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _manubot_build(content: Path) -> str:
    """A Manubot build of the same folder, timed: `manubot process` (which in v0.6
    requires --skip-citations: citations are pandoc-manubot-cite's job), then pandoc to
    HTML with pandoc-manubot-cite and citeproc. Offline the filter fails (it fetches
    the CSL JSON schema from github.com to prune records), so pandoc then runs with
    citeproc alone, its citations unresolved: a lower bound. Or why it could not run."""
    manubot, pandoc = shutil.which("manubot"), shutil.which("pandoc")
    if not manubot or not pandoc:
        return f"manubot build: not run (manubot: {manubot}, pandoc: {pandoc})"
    output = content.parent / "output"
    steps = []

    def run(name: str, command: list[str]) -> subprocess.CompletedProcess:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=content.parent
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        steps.append(
            f"{name} {time.perf_counter() - start:.1f} s wall, {cpu:.1f} s CPU"
        )
        return done

    done = run(
        "manubot process",
        [manubot, "process", "--content-directory", "content"]
        + ["--output-directory", "output", "--skip-citations", "--log-level", "ERROR"],
    )
    if done.returncode:
        return f"manubot process failed: {done.stderr.strip()[-300:]}"
    to_html = [pandoc, "output/manuscript.md", "--to", "html5", "--standalone"]
    done = run(
        "pandoc with pandoc-manubot-cite and citeproc",
        to_html
        + ["--filter", "pandoc-manubot-cite", "--citeproc", "-o", "output/m.html"],
    )
    if done.returncode:
        reason = (
            done.stderr.strip().splitlines()[-1][:160] if done.stderr.strip() else ""
        )
        steps[-1] += f" (failed: {reason})"
        run(
            "pandoc with citeproc alone (citations unresolved)",
            to_html + ["--citeproc", "-o", str(output / "m.html")],
        )
    return "manubot build: " + "; ".join(steps)


if __name__ == "__main__":
    main()
