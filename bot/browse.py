"""`budgetbot browse`: the knowledge base, read-only, in Datasette, described in Chinese for staff.

Datasette is an optional extra (`pip install -e '.[staff]'`); the metadata here says what each table
and column holds, the unit, and where each row comes from, with canned queries staff ask often.
"""

from __future__ import annotations

TABLES = {
    "documents": ("已加载的预算公开文件", {
        "department": "部门名称（文件标题所写）", "year": "年度", "kind": "预算或决算", "source_file": "文件名",
        "page_count": "PDF 页数", "url": "官方原文地址", "family": "模板家族（省份变体）"}),
    "tables": ("每份文件里的表", {"name": "标准表名", "title": "印刷的表名", "unit": "金额单位：万元、元或亿元",
                               "line": "表名所在行（PDF 则可换算为页码）"}),
    "rows": ("表里的每一行（原样的单元格）", {"cells": "单元格，JSON 列表，照原文", "line": "所在行"}),
    "facts": ("每个金额单元格", {
        "value": "金额，表内原样的十进制数（不是浮点数）", "unit": "单位", "row_label": "行名（照原文）",
        "column": "栏目（照原文表头）", "func_code": "功能分类科目编码", "econ_code": "部门经济分类编码",
        "line": "所在行", "document_id": "出自哪份文件（documents.id）"}),
    "projects": ("项目支出预算表的项目", {"name": "项目名称", "type": "项目类别", "unit_name": "项目单位",
                                     "value": "金额（原样十进制）", "unit": "单位", "line": "所在行"}),
    "units": ("部门所属预算单位", {"code": "单位编码（文字，保留前导零）", "name": "单位名称"}),
    "narrative_facts": ("情况说明里写到的金额", {"sentence": "原句", "value": "金额", "unit": "单位", "line": "所在行"}),
}

QUERIES = {
    "三公经费_按部门": ("各部门“三公”经费合计（从多到少）",
                  "SELECT d.department AS 部门, d.year AS 年度, f.value AS 金额, f.unit AS 单位, d.source_file AS 文件, "
                  "f.line AS 行 FROM facts f JOIN tables t ON t.id = f.table_id JOIN documents d ON d.id = f.document_id "
                  "WHERE t.name LIKE '%三公%' AND f.canon = 'sangong' "
                  "ORDER BY CAST(f.value AS REAL) DESC"),
    "项目_按金额": ("所有项目（从多到少）",
               "SELECT d.department AS 部门, p.name AS 项目, p.unit_name AS 单位, p.value AS 金额, p.unit AS 金额单位 "
               "FROM projects p JOIN documents d ON d.id = p.document_id ORDER BY p.fen DESC"),
}


def metadata(database: str) -> dict:
    """Datasette metadata for the knowledge base file named `database` (its stem)."""
    return {
        "title": "部门预算公开知识库（只读）",
        "description": "budgetbot 加载的预算公开文件：每个金额都是原文的十进制数，带出处（文件、表、行；PDF 可换算页码）。",
        "databases": {database: {
            "tables": {name: {"description": what, "columns": columns} for name, (what, columns) in TABLES.items()},
            "queries": {key: {"title": title, "sql": sql} for key, (title, sql) in QUERIES.items()},
        }},
    }
