"""Run a blind set through `budgetbot ask --jsonl`, one session per conversation: run_blind.py OUT.jsonl SET.jsonl"""
import json, subprocess, sys
from pathlib import Path
here = Path(sys.argv[2]).parent if len(sys.argv) > 2 else Path(__file__).parent
items = [json.loads(l) for l in (Path(sys.argv[2]) if len(sys.argv) > 2 else here / "questions.jsonl").read_text().splitlines() if l.strip()]
lines, where = [], []
for item in items:
    for n, turn in enumerate(item["turns"]):
        lines.append(json.dumps({"question": turn, "session_id": f"blind{item['id']}"}, ensure_ascii=False))
        where.append((item["id"], n))
out = subprocess.run([str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "budgetbot"), "ask", "--jsonl"], input="\n".join(lines) + "\n",
                     capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2]).stdout.splitlines()
assert len(out) == len(lines), (len(out), len(lines))
answers = {}
for (qid, n), line in zip(where, out):
    answers.setdefault(qid, []).append(json.loads(line))
name = sys.argv[1] if len(sys.argv) > 1 else "answers.jsonl"
with open(here / name, "w") as f:
    for item in items:
        turns = answers[item["id"]]
        f.write(json.dumps({"id": item["id"], "turns": item["turns"], "expected": item["expected"], "basis": item["basis"],
                            "kind": item["kind"],
                            "answers": [{"status": a.get("status"), "text": a.get("text"), "options": a.get("options")} for a in turns]},
                           ensure_ascii=False) + "\n")
print(len(items), "conversations,", len(lines), "turns ->", here / name)
