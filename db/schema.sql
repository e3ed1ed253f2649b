-- Budget knowledge base. Amounts are exact: `value` is decimal text as printed (in the
-- table's `unit`), `fen` the same amount as an integer number of 分 for sorting and sums.
-- Codes are TEXT (款 '03' keeps its zero). Every fact knows its document, table, row and line.
-- PRAGMA user_version is SCHEMA_VERSION in db/load.py: a database of another version is rebuilt.

CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    department TEXT NOT NULL,          -- as in the title, e.g. 南阳市行政审批和政务信息管理局
    year INTEGER NOT NULL,
    kind TEXT NOT NULL,                -- 预算 | 决算
    scope TEXT NOT NULL,               -- 部门 | 单位 (a unit budget)
    family TEXT NOT NULL,              -- template family (knowledge/families): 广东, 重庆 … or 全国
    city TEXT,                         -- 广州市, from the department name
    source_file TEXT NOT NULL UNIQUE,  -- file name as loaded
    source_path TEXT NOT NULL,         -- where it was loaded from (the web app serves a PDF from here)
    origin TEXT NOT NULL,              -- bundled (knowledge/sources, the embedded default) | user
    sha256 TEXT NOT NULL,
    line_count INTEGER NOT NULL,
    page_count INTEGER,                -- PDF pages; NULL for a converted text
    pages TEXT NOT NULL,               -- JSON list: the page of each line of a PDF (index = line - 1)
    url TEXT,                          -- official address, from a sidecar file
    published TEXT,                    -- publication date, from a sidecar file
    tables_separate INTEGER NOT NULL,  -- the tables are published in another file (the PDF has the narrative)
    skipped TEXT NOT NULL,             -- JSON list of [title, line, reason]: tables that could not be read
    synonyms TEXT NOT NULL,            -- JSON {name: [what readers type]}: this document's own words (sidecar file)
    UNIQUE (department, year, kind)
);

CREATE TABLE tables (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    name TEXT NOT NULL,                -- standard name from knowledge/tables.toml
    title TEXT NOT NULL,               -- as printed
    unit TEXT NOT NULL,                -- 万元 | 元 | 亿元
    position INTEGER NOT NULL,         -- order in the document, from 1
    line INTEGER NOT NULL,             -- line of the title
    department TEXT,                   -- the 部门名称 line of the table, as printed
    columns TEXT NOT NULL,             -- JSON list of column paths, e.g. 基本支出/人员经费/工资福利支出
    notes TEXT NOT NULL                -- JSON list of [line, text] footnotes (注：…)
);

CREATE TABLE rows (
    id INTEGER PRIMARY KEY,
    table_id INTEGER NOT NULL REFERENCES tables(id),
    position INTEGER NOT NULL,
    line INTEGER NOT NULL,
    cells TEXT NOT NULL                -- JSON list of the cells as printed
);

CREATE TABLE facts (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    table_id INTEGER NOT NULL REFERENCES tables(id),
    row_id INTEGER NOT NULL REFERENCES rows(id),
    line INTEGER NOT NULL,
    side TEXT,                         -- 收入 | 支出 in two-sided tables
    row_label TEXT NOT NULL,           -- as printed, e.g. 一、一般公共服务
    label TEXT NOT NULL,               -- numbering removed, e.g. 一般公共服务
    row_kind TEXT NOT NULL,            -- total | unit | item
    column TEXT NOT NULL,              -- column path as printed
    canon TEXT,                        -- its meaning (knowledge/columns.toml): basic, basic.personnel, amount …
    func_code TEXT,                    -- 功能分类 2010301
    econ_code TEXT,                    -- 部门经济分类 30101
    gov_econ_code TEXT,                -- 政府经济分类 50101
    unit_code TEXT,                    -- 152, 152101 ...
    project TEXT,                      -- project name in 项目支出预算表 / 项目绩效目标汇总表
    value TEXT NOT NULL,
    fen INTEGER NOT NULL,
    unit TEXT NOT NULL
);
CREATE INDEX facts_by_table ON facts(table_id, row_kind);
CREATE INDEX facts_by_codes ON facts(func_code, econ_code);

CREATE TABLE units (
    document_id INTEGER NOT NULL REFERENCES documents(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,          -- without the city prefix: 政务大数据中心 (bot/catalog.py adds 本级 words)
    is_department INTEGER NOT NULL,    -- the whole department (汇总)
    is_own INTEGER NOT NULL,           -- the department's own unit (本级 / 局机关)
    PRIMARY KEY (document_id, code)
);

CREATE TABLE subjects (
    document_id INTEGER NOT NULL REFERENCES documents(id),
    scheme TEXT NOT NULL,              -- func | econ | gov_econ
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (document_id, scheme, code, name)
);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    name TEXT NOT NULL,                -- as in 项目支出预算表
    type TEXT,                         -- 其他运转类 | 特定目标类
    unit_code TEXT,
    unit_name TEXT,
    value TEXT NOT NULL,
    fen INTEGER NOT NULL,
    unit TEXT NOT NULL,
    line INTEGER NOT NULL,
    perf_code TEXT,                    -- project code in 项目绩效目标汇总表
    perf_name TEXT,                    -- name as printed there (may differ)
    perf_line INTEGER
);

CREATE TABLE indicators (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    table_id INTEGER NOT NULL REFERENCES tables(id),
    project_id INTEGER REFERENCES projects(id),  -- NULL: department-wide, or a group not linked
    group_no INTEGER,                  -- indicator group in 项目绩效目标汇总表
    level1 TEXT NOT NULL,              -- 成本指标 / 产出指标 / 效益指标 / 满意度指标 / 投入管理指标 …
    level2 TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,               -- as printed: ≥95%, ≤42万元, 及时
    description TEXT NOT NULL,
    line INTEGER NOT NULL,
    link_method TEXT,                  -- cost | cost+name | name
    link_note TEXT                     -- why a group was left unlinked
);

CREATE TABLE sections (
    document_id INTEGER NOT NULL REFERENCES documents(id),
    part TEXT NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    line INTEGER NOT NULL,
    withheld INTEGER NOT NULL          -- 1: the section says it is withheld (涉密, 不予公开)
);

CREATE TABLE narrative_facts (
    document_id INTEGER NOT NULL REFERENCES documents(id),
    heading TEXT NOT NULL,
    label TEXT NOT NULL,
    clause TEXT NOT NULL,
    sentence TEXT NOT NULL,
    value TEXT NOT NULL,
    unit TEXT NOT NULL,
    line INTEGER NOT NULL,
    compared_year INTEGER
);

CREATE TABLE glossary (
    document_id INTEGER NOT NULL REFERENCES documents(id),
    term TEXT NOT NULL,
    definition TEXT NOT NULL,
    line INTEGER NOT NULL
);

-- Every per-document read (a catalog is built per document) goes by document_id.
CREATE INDEX tables_by_document ON tables(document_id);
CREATE INDEX rows_by_table ON rows(table_id);
CREATE INDEX facts_by_document ON facts(document_id);
CREATE INDEX units_by_document ON units(document_id);
CREATE INDEX subjects_by_document ON subjects(document_id);
CREATE INDEX projects_by_document ON projects(document_id);
CREATE INDEX indicators_by_document ON indicators(document_id);
CREATE INDEX sections_by_document ON sections(document_id);
CREATE INDEX narrative_by_document ON narrative_facts(document_id);
CREATE INDEX glossary_by_document ON glossary(document_id);
