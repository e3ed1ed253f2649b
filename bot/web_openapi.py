"""The OpenAPI 3.1 description of the HTTP API, written by hand to match `bot.web` and `bot.answer`."""

from __future__ import annotations

from typing import Any

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def openapi_document(max_question_chars: int, max_body_bytes: int, rate_limit_per_minute: int) -> dict[str, Any]:
    nullable_str = {"type": ["string", "null"]}
    nullable_int = {"type": ["integer", "null"]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "部门预算公开问答接口",
            "version": "1",
            "description": (
                "就已载入的部门预算公开文件提问，回答给出精确数字并注明出处（文件、表、行、源文件行号）。"
                "同一 session_id 的连续提问共享上下文（例如“那大数据中心呢？”）。"
                f"每个客户端每分钟最多 {rate_limit_per_minute} 次提问。"
            ),
        },
        "paths": {
            "/api/ask": {
                "post": {
                    "summary": "提一个问题",
                    "operationId": "ask",
                    "requestBody": {
                        "required": True,
                        "description": f"JSON 对象，请求体不超过 {max_body_bytes} 字节。",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Question"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "回答（也可能是追问选项或“未找到”）",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}},
                        },
                        "400": _error("请求体不是有效的 JSON"),
                        "403": _error("浏览器来源（Origin）不在允许列表中"),
                        "413": _error("请求体过大"),
                        "415": _error("Content-Type 不是 application/json"),
                        "422": _error("字段缺失、类型不对、问题为空或过长、session_id 格式不对"),
                        "429": _error("提问过于频繁；响应头 Retry-After 给出等待秒数"),
                    },
                }
            },
            "/api/feedback": {
                "post": {
                    "summary": "对一个回答点 👍 或 👎（可附一句说明）",
                    "operationId": "feedback",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["answer_id", "rating"],
                        "properties": {"answer_id": {"type": "string"}, "rating": {"enum": ["up", "down"]},
                                       "comment": {"type": ["string", "null"], "maxLength": 500}}}}}},
                    "responses": {
                        "200": {"description": "已记录"},
                        "404": _error("没有这个回答（编号不对或已过保留期）"),
                        "422": _error("字段不对"),
                        "503": _error("服务没有开启问题记录"),
                    },
                }
            },
            "/api/answers/{answer_id}/rows.{format}": {
                "get": {
                    "summary": "下载回答所依据的行（CSV：UTF-8 带 BOM；XLSX：编码为文本）",
                    "operationId": "answerRows",
                    "parameters": [
                        {"name": "answer_id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "format", "in": "path", "required": True, "schema": {"enum": ["csv", "xlsx"]}},
                    ],
                    "responses": {
                        "200": {"description": "表格文件：文件、部门、年度、表、行号、页码、行、栏目、内容、类型、单位"},
                        "404": _error("没有这个回答"),
                        "503": _error("服务没有开启问题记录"),
                    },
                }
            },
            "/api/tables": {
                "get": {
                    "summary": "列出已载入的文件和表",
                    "operationId": "tables",
                    "responses": {
                        "200": {
                            "description": "文件列表",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tables"}}},
                        },
                        "403": _error("浏览器来源（Origin）不在允许列表中"),
                        "429": _error("请求过于频繁"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "存活检查",
                    "operationId": "health",
                    "responses": {
                        "200": {
                            "description": "服务正常",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"status": {"const": "ok"}, "documents": {"type": "integer"}},
                                    }
                                }
                            },
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Question": {
                    "type": "object",
                    "required": ["question"],
                    "properties": {
                        "question": {"type": "string", "minLength": 1, "maxLength": max_question_chars},
                        "session_id": {
                            "type": ["string", "null"],
                            "pattern": SESSION_ID_PATTERN,
                            "description": "省略则新建会话；回答中返回本次使用的 session_id。",
                        },
                    },
                },
                "Answer": {
                    "type": "object",
                    "required": ["status", "text", "figures", "citations", "suggestions", "options", "session_id",
                                 "id", "chart"],
                    "properties": {
                        "status": {"enum": ["answered", "clarify", "not_found"]},
                        "text": {"type": "string"},
                        "figures": {"type": "array", "items": {"$ref": "#/components/schemas/Figure"}},
                        "citations": {"type": "array", "items": {"$ref": "#/components/schemas/Citation"}},
                        "suggestions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "可以接着问的问题，原样作为下一个 question 提交。",
                        },
                        "options": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "status 为 clarify 时的候选问题，原样作为下一个 question 提交。",
                        },
                        "session_id": {"type": "string"},
                        "id": {"type": "string", "description": "回答编号：反馈和导出用它指这个回答。"},
                        "chart": {
                            "type": ["object", "null"],
                            "description": "排名、构成、比较的条形图：bars 的 figure 是 figures 中的下标，数值以它为准。",
                        },
                    },
                },
                "Figure": {
                    "type": "object",
                    "required": ["value", "unit"],
                    "properties": {
                        "value": {"type": "string", "description": "十进制文本，与回答中显示的一致，例如 \"4.30\""},
                        "unit": {"type": "string"},
                        "table": nullable_str,
                        "row": nullable_str,
                        "column": nullable_str,
                        "formula": nullable_str,
                        "line": nullable_int,
                    },
                },
                "Citation": {
                    "type": "object",
                    "required": ["document", "table"],
                    "properties": {
                        "document": {"type": "string"},
                        "table": {"type": "string"},
                        "row": nullable_str,
                        "line": nullable_int,
                    },
                },
                "Tables": {
                    "type": "object",
                    "properties": {
                        "documents": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "document": {"type": "string"},
                                    "department": {"type": "string"},
                                    "year": {"type": "integer"},
                                    "kind": {"type": "string"},
                                    "tables": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "name": {"type": "string"},
                                                "title": {"type": "string"},
                                                "unit": {"type": "string"},
                                                "rows": {"type": "integer"},
                                            },
                                        },
                                    },
                                },
                            },
                        }
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string", "description": "稳定的错误代码，例如 question_too_long"},
                        "message": {"type": "string", "description": "给人看的中文说明"},
                    },
                },
            }
        },
    }
