"""jieba segmentation with a small dictionary generated from the lexicon and the database.

jieba's general dictionary takes about a second to load; questions only need the domain's
vocabulary, so the tokenizer is built on a generated dictionary alone, with a cache we own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path

import jieba

log = logging.getLogger(__name__)

_VALID_WORD = re.compile(r"^[^\s\t]+$")
# Everyday question words, so jieba cuts them out of the domain terms.
_FUNCTION_WORDS = ["多少", "是多少", "多少钱", "哪些", "有哪些", "什么", "为什么", "几个", "占比", "比例", "预算", "项目",
                   "支出", "收入", "编码", "指标", "增加", "增长", "换成", "那", "呢", "的", "是", "和", "比", "占"]


def build_tokenizer(words: set[str], cache_dir: Path) -> jieba.Tokenizer:
    """A jieba Tokenizer over `words` only; the dictionary file is regenerated, never hand-edited."""
    jieba.setLogLevel(logging.WARNING)
    clean = sorted({w.strip() for w in words | set(_FUNCTION_WORDS) if w.strip() and _VALID_WORD.match(w.strip())})
    content = "".join(f"{w} {1000 + 10 * len(w)}\n" for w in clean)
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
    try:
        path = _dictionary(cache_dir, digest, content)
    except OSError as error:  # an unwritable cache: this process writes its dictionary to a temporary folder
        log.warning("无法写入缓存 %s（%s）：改用临时文件夹", cache_dir, error.strerror or error)
        cache_dir = Path(tempfile.mkdtemp(prefix="budgetbot-"))
        path = _dictionary(cache_dir, digest, content)
    tokenizer = jieba.Tokenizer(dictionary=str(path))
    tokenizer.tmp_dir = str(cache_dir.resolve())
    tokenizer.cache_file = f"jieba-{digest}.cache"
    tokenizer.initialize()
    return tokenizer


def _dictionary(cache_dir: Path, digest: str, content: str) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = (cache_dir / f"jieba-{digest}.dict").resolve()
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, path)
    return path


def segment(tokenizer: jieba.Tokenizer, text: str) -> list[str]:
    return [t for t in tokenizer.lcut(text, HMM=False) if t.strip()]
