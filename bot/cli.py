"""budgetbot: load budget disclosures, audit them, and answer questions about them."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bot.config import ConfigError, Settings


def cmd_ingest(args, settings: Settings) -> int:
    """Load disclosures (PDF or converted text; files or folders) into the database; default: the bundled sample."""
    from db.errors import LoadError
    from db.ingest import ingest
    from db.load import source_files

    bundled = not args.paths
    paths = [Path(p) for p in args.paths] or source_files(settings.sources_dir)
    if not paths:
        print(f"没有可加载的文件：{settings.sources_dir} 为空", file=sys.stderr)
        return 2
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"找不到文件或文件夹：{missing[0]}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        report = ingest(settings.db_path, paths, replace_all=bundled, strict=args.strict or bundled,
                        origin="bundled" if bundled else "user", workers=args.jobs, progress=sys.stderr.isatty())
    except LoadError as error:
        print(f"加载失败，数据库保持原样。{error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"无法写入数据库 {settings.db_path}：{error.strerror or error}", file=sys.stderr)
        return 1
    print_report(report)
    if report.of("loaded"):
        from bot.core import Assistant
        Assistant.open(settings)  # indexes every document once and caches its words: later processes start fast
    print(f"数据库：{settings.db_path}（用时 {time.perf_counter() - started:.2f} 秒）")
    return 1 if report.of("failed") else 0


def print_report(report) -> None:
    """One line per document, the skipped tables under it, then the totals."""
    for o in report.outcomes:
        if o.status == "loaded":
            what = "只有文字说明，没有预算表" if o.narrative_only else f"{o.tables} 张表，{o.facts} 个金额"
            print(f"已加载 {o.path.name}：{o.department} {o.year}年{o.kind}（{o.family}），{what}")
            for title, line, reason in o.skipped:
                print(f"    跳过表“{title}”（第 {line} 行）：{reason}")
        elif o.status == "unchanged":
            print(f"未改变 {o.path.name}：内容与已加载的相同，没有重新读取")
        elif o.status == "duplicate":
            print(f"已替换 {o.path.name}：{o.error}")
        else:
            print(f"失败   {o.error}", file=sys.stderr)
    loaded, failed = report.of("loaded"), report.of("failed")
    skipped = sum(len(o.skipped) for o in loaded)
    print(f"\n共 {len(report.outcomes)} 份：加载 {len(loaded)} 份（{sum(o.tables for o in loaded)} 张表，跳过 {skipped} 张），"
          f"未改变 {len(report.of('unchanged'))} 份，失败 {len(failed)} 份。")


def cmd_audit(args, settings: Settings) -> int:
    """Check every loaded disclosure's internal consistency (勾稽关系) and print each check."""
    from db.audit import audit
    from db.ingest import ensure_database

    ensure_database(settings.db_path, settings.sources_dir)
    checks = audit(settings.db_path)
    marks = {"pass": "✔ 通过", "fail": "✘ 不符", "skip": "… 跳过"}
    for check in checks:
        print(f"{marks[check.status]}  [{check.document}] {check.name}：{check.detail}")
    failed = sum(c.status == "fail" for c in checks)
    print(f"\n共 {len(checks)} 项检查：{sum(c.status == 'pass' for c in checks)} 项通过，{failed} 项不符，"
          f"{sum(c.status == 'skip' for c in checks)} 项跳过。容差：n 个单元格求和允许 max(0.01, n×0.005) 个表内单位的四舍五入误差。")
    return 1 if failed and args.strict else 0


def cmd_tables(args, settings: Settings) -> int:
    """List loaded documents and their tables with row counts."""
    from bot.core import Assistant

    assistant = Assistant.open(settings)
    for doc in assistant.overview():
        pages = f"，{doc['page_count']} 页" if doc["page_count"] else ""
        print(f"{doc['department']} {doc['year']}年{doc['scope']}{doc['kind']}（{doc['document']}，{doc['family']}模板{pages}）")
        if not doc["tables"]:
            print("  只有文字说明，没有预算表" + ("（预算表另行公开，不在这份文件里）" if doc["tables_separate"] else ""))
        for table in doc["tables"]:
            print(f"  {table['name']}\t{table['rows']} 行\t单位：{table['unit']}")
        for title, line, reason in doc["skipped"]:
            print(f"  未能读取：{title}（第 {line} 行）：{reason}")
    return 0


def cmd_ask(args, settings: Settings) -> int:
    """Answer a question; --json prints the answer object, --jsonl answers stdin line by line."""
    from bot.core import Assistant

    assistant = Assistant.open(settings)
    if args.jsonl:
        session = "cli-jsonl"
        for line in sys.stdin:
            line = line.rstrip("\n")
            question, sid = line, session
            if line.lstrip().startswith("{"):
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    data = None
                if isinstance(data, dict):  # fields of the wrong type are not guessed at: an empty question
                    question = data.get("question") if isinstance(data.get("question"), str) else ""
                    sid = data.get("session_id") if isinstance(data.get("session_id"), str) and data.get("session_id") else session
            print(json.dumps(assistant.answer(question, sid, channel="cli").to_dict(), ensure_ascii=False), flush=True)
        assistant.finish()
        return 0
    question = " ".join(args.question)
    if args.explain:
        print(json.dumps(assistant.explain(question), ensure_ascii=False, indent=2, default=str))
        return 0
    answer = assistant.answer(question, channel="cli")
    assistant.finish()
    if args.csv:
        from bot.exports import as_csv, cited_rows

        sys.stdout.buffer.write(as_csv(cited_rows(assistant, [vars(c) for c in answer.citations])))
        return 0 if answer.citations else 1
    print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) if args.json else answer.text + paged(answer))
    return 0


def paged(answer) -> str:
    """The pages a PDF answer was read on, one line per citation: 出处：文件 · 表 · 行 · 第 N 页."""
    lines = [" · ".join(p for p in (c.document, c.table, c.row or "", f"第 {c.page} 页") if p)
             for c in answer.citations if c.page]
    return "".join(f"\n出处：{line}" for line in dict.fromkeys(lines))


def cmd_chat(args, settings: Settings) -> int:
    """Interactive questions with line editing and history; /source shows the last citation."""
    from bot.core import Assistant

    assistant = Assistant.open(settings)
    print("预算问答（/source 查看上一条回答的出处，/quit 退出）", flush=True)
    for question in _chat_lines(settings):
        command = question.strip()
        if command in ("/quit", "/exit"):
            break
        if command == "/source":
            last = assistant.last_answer("chat")
            print("\n".join(f"{c.document} · {c.table} · {c.row or ''} · " + (f"第 {c.page} 页" if c.page else f"第{c.line}行")
                            for c in last.citations)
                  if last and last.citations else "还没有可以引用的回答。", flush=True)
        elif command:
            print(assistant.answer(question, "chat", channel="cli").text, flush=True)
    assistant.finish()
    return 0


def _chat_lines(settings: Settings):
    """Lines typed at a terminal (prompt_toolkit: editing, history), or piped in."""
    if not sys.stdin.isatty():
        yield from (line.rstrip("\n") for line in sys.stdin)
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    session = PromptSession(history=FileHistory(str(settings.cache_dir / "chat-history")))
    while True:
        try:
            yield session.prompt("问> ")
        except (EOFError, KeyboardInterrupt):
            return


def cmd_eval(args, settings: Settings) -> int:
    """Run a question file and print accuracy per question kind and every failure."""
    from bot.core import Assistant
    from bot.evaluate import evaluate, load_questions

    assistant = Assistant.open(settings)
    report = evaluate(assistant, load_questions(Path(args.file)))
    print(report.summary())
    return 0 if report.accuracy >= args.min_accuracy else 1


def cmd_serve(args, settings: Settings) -> int:
    """Serve the HTTP API, the widget and its demo page (default http://127.0.0.1:8000)."""
    from bot.web import main

    return main(settings, args.host, args.port, args.workers)


def cmd_report(args, settings: Settings) -> int:
    """What people asked, what was missed, words not understood, every 👎 (from the question log)."""
    from bot import report

    if settings.log_path is None or not settings.log_path.exists():
        print(f"没有问题日志：{settings.log_path or 'BUDGETBOT_LOG=off'}（服务记录问题后才有报告）", file=sys.stderr)
        return 2
    try:
        seconds = report.since_seconds(args.since)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    data = report.gather(settings.log_path, seconds)
    if args.format == "csv":
        sys.stdout.buffer.write(report.as_csv(data))
    else:
        text = report.as_html(data, args.since) if args.format == "html" else report.as_text(data, args.since)
        sys.stdout.buffer.write(text.encode("utf-8"))
    return 0


def cmd_browse(args, settings: Settings) -> int:
    """Open the knowledge base read-only in Datasette, with Chinese descriptions (pip install -e '.[staff]')."""
    import importlib.util
    import subprocess

    from bot.browse import metadata
    from db.ingest import ensure_database

    if importlib.util.find_spec("datasette") is None:
        print("没有安装 Datasette：请运行 pip install -e '.[staff]'", file=sys.stderr)
        return 2
    ensure_database(settings.db_path, settings.sources_dir)
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    meta = settings.cache_dir / "datasette-metadata.json"
    meta.write_text(json.dumps(metadata(settings.db_path.stem), ensure_ascii=False, indent=2), encoding="utf-8")
    command = [sys.executable, "-m", "datasette", "serve", "-i", str(settings.db_path), "--metadata", str(meta),
               "--host", args.host, "--port", str(args.port)]
    return subprocess.call(command)


def cmd_telegram(args, settings: Settings) -> int:
    """Run the Telegram bot (long polling, or webhook when TELEGRAM_WEBHOOK_URL is set)."""
    from bot.telegram_bot import main

    return main(settings, args.host, args.port)


COMMANDS = {
    "ingest": cmd_ingest, "audit": cmd_audit, "tables": cmd_tables, "ask": cmd_ask, "chat": cmd_chat,
    "eval": cmd_eval, "serve": cmd_serve, "telegram": cmd_telegram, "report": cmd_report,
    "browse": cmd_browse,
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="budgetbot", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    for name, func in COMMANDS.items():
        p = sub.add_parser(name, help=func.__doc__, description=func.__doc__)
        if name == "ingest":
            p.add_argument("paths", nargs="*", help="PDF or text files, or folders of them (default: knowledge/sources/*)")
            p.add_argument("--strict", action="store_true", help="all or nothing: any failed document or skipped table fails the load")
            p.add_argument("--jobs", type=int, default=None, help="parallel readers (default: one per core)")
        elif name == "audit":
            p.add_argument("--strict", action="store_true", help="exit 1 when any check fails")
        elif name == "ask":
            p.add_argument("question", nargs="*")
            p.add_argument("--json", action="store_true", help="print the answer object")
            p.add_argument("--jsonl", action="store_true", help="one question (or JSON object) per stdin line")
            p.add_argument("--explain", action="store_true", help="show tokens, entities, intent and rows read")
            p.add_argument("--csv", action="store_true", help="print the rows the answer cites as CSV (UTF-8 with BOM)")
        elif name == "browse":
            p.add_argument("--host", default="127.0.0.1")
            p.add_argument("--port", type=int, default=8001)
        elif name == "report":
            p.add_argument("--since", default="7d", help="how far back: 7d, 24h, 2w (default 7d)")
            p.add_argument("--format", choices=("text", "csv", "html"), default="text")
        elif name == "eval":
            p.add_argument("file")
            p.add_argument("--min-accuracy", type=float, default=0.0)
        elif name in ("serve", "telegram"):
            p.add_argument("--host", default="127.0.0.1", help="address to listen on (telegram: webhook mode only)")
            p.add_argument("--port", type=int, default=8000)
            if name == "serve":
                p.add_argument("--workers", type=int, default=1, help="server processes; they share sessions in SQLite")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run a command; a setting, database or file that cannot be used is one line on stderr, not a traceback."""
    from db.errors import LoadError

    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, Settings.from_env())
    except ConfigError as error:
        print(f"配置有误：{error}", file=sys.stderr)
    except LoadError as error:
        print(f"无法使用数据库或资料：{error}", file=sys.stderr)
    except OSError as error:
        where = f"{error.filename}：" if error.filename else ""
        print(f"无法读写 {where}{error.strerror or error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
