/*
 * 预算问答助手：可嵌入任何网页的聊天小窗。
 *
 *   <script src="https://host/widget.js" data-endpoint="https://host" defer></script>
 *
 * - 样式放在 Shadow DOM 里，用可构造样式表（adoptedStyleSheets），不受宿主页面 style-src CSP 限制；
 * - 所有提问和回答文字都用 textContent 显示，从不当作 HTML；也不用 innerHTML（兼容 Trusted Types）；
 * - 会话编号只保存在本页面的内存里，刷新页面即开始新会话；
 * - 宿主页面上带 data-budgetbot-ask="问题" 的元素被点击时，打开小窗并提问；
 *   也可以用脚本调用 window.BudgetBot.ask("问题") / open() / close()。
 * - 排名、构成、部门比较的回答附一张条形图（内联 SVG，只用回答里的数字，文字照样列出）；
 *   每个回答下有 👍 / 👎（👎 后可说明原因）和“下载数据”（CSV、Excel）。
 */
(function () {
  "use strict";
  if (window.BudgetBot) return;

  var script = document.currentScript || document.querySelector("script[data-endpoint][src*='widget.js']");
  var endpoint = ((script && script.getAttribute("data-endpoint")) || (script ? new URL(script.src).origin : location.origin)).replace(/\/+$/, "");
  var title = (script && script.getAttribute("data-title")) || "预算问答";
  var MAX_CHARS = 500;
  var TIMEOUT_MS = 15000;

  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; }",
    ".root { font-family: system-ui, -apple-system, 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Noto Sans SC', sans-serif;",
    "  font-size: 15px; line-height: 1.55; color: #1d2733; }",
    "button { font: inherit; cursor: pointer; }",
    "button:focus-visible, input:focus-visible, .log:focus-visible { outline: 3px solid #f0a92e; outline-offset: 2px; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; display: flex; align-items: center; gap: 6px;",
    "  padding: 12px 18px; border: 0; border-radius: 999px; background: #1f4e8c; color: #fff; font-size: 16px; font-weight: 600;",
    "  box-shadow: 0 6px 20px rgba(16, 42, 80, .35); }",
    ".launcher:hover { background: #173d6e; }",
    ".launcher[aria-expanded='true'] { display: none; }",
    ".panel { position: fixed; right: 20px; bottom: 20px; z-index: 2147483001; width: 380px; max-width: calc(100vw - 24px);",
    "  height: 600px; max-height: calc(100vh - 40px); display: flex; flex-direction: column; background: #fff;",
    "  border-radius: 14px; box-shadow: 0 12px 40px rgba(16, 42, 80, .3); overflow: hidden; }",
    ".panel[hidden] { display: none; }",
    "header { display: flex; align-items: center; justify-content: space-between; padding: 12px 14px 12px 18px; background: #1f4e8c; color: #fff; }",
    "h2 { margin: 0; font-size: 17px; font-weight: 600; }",
    ".close { width: 36px; height: 36px; border: 0; border-radius: 8px; background: transparent; color: #fff; font-size: 22px; line-height: 1; }",
    ".close:hover { background: rgba(255, 255, 255, .15); }",
    ".log { flex: 1; overflow-y: auto; padding: 14px; background: #f4f6f9; display: flex; flex-direction: column; gap: 10px; }",
    ".msg { max-width: 88%; padding: 9px 12px; border-radius: 12px; word-break: break-word; }",
    ".msg p { margin: 0; white-space: pre-wrap; }",
    ".user { align-self: flex-end; background: #1f4e8c; color: #fff; border-bottom-right-radius: 4px; }",
    ".bot { align-self: flex-start; background: #fff; border: 1px solid #dde3ea; border-bottom-left-radius: 4px; }",
    ".bot.error { border-color: #e7b4b4; background: #fdf3f3; color: #8a1f1f; }",
    ".bot.pending { color: #5b6878; }",
    ".cites { margin: 8px 0 0; padding: 6px 0 0; border-top: 1px dashed #d3dae3; list-style: none; font-size: 12.5px; color: #5b6878; }",
    ".cites li + li { margin-top: 2px; }",
    ".chips { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }",
    ".chips-label { width: 100%; font-size: 12.5px; color: #5b6878; }",
    ".chip { padding: 5px 11px; border: 1px solid #9db4d3; border-radius: 999px; background: #eef3fa; color: #1f4e8c; font-size: 13.5px; text-align: left; }",
    ".chip:hover { background: #dfe9f6; }",
    ".chip:disabled, .send:disabled { opacity: .55; cursor: default; }",
    "form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #dde3ea; background: #fff; }",
    "input { flex: 1; min-width: 0; padding: 10px 12px; border: 1px solid #b9c4d1; border-radius: 10px; font: inherit; font-size: 16px; color: inherit; background: #fff; }",
    ".send { padding: 0 16px; border: 0; border-radius: 10px; background: #1f4e8c; color: #fff; font-weight: 600; }",
    ".note { margin: 0; padding: 0 12px 8px; font-size: 11.5px; color: #6b7786; background: #fff; }",
    ".chart { display: block; width: 100%; margin-top: 8px; }",
    ".chart .bar { fill: #2f6fb3; }",
    ".chart text { font-size: 12px; fill: #1d2733; }",
    ".tools { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 8px; font-size: 12.5px; color: #5b6878; }",
    ".tools a { color: #1f4e8c; }",
    ".rate { padding: 2px 8px; border: 1px solid #c9d3df; border-radius: 8px; background: #fff; font-size: 14px; }",
    ".rate[aria-pressed='true'] { background: #dfe9f6; border-color: #1f4e8c; }",
    ".why { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; width: 100%; }",
    ".why input { flex: 1; min-width: 8em; padding: 4px 8px; font-size: 13px; }",
    "@media (max-width: 480px) {",
    "  .panel { inset: 0; width: 100%; max-width: none; height: 100%; max-height: none; border-radius: 0; }",
    "  .launcher { right: 14px; bottom: 14px; }",
    "}"
  ].join("\n");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function adoptStyles(root) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (unsupported) {
      // Browsers without constructable stylesheets (before Safari 16.4): a <style> element still works
      // unless the host page's CSP forbids inline styles.
      root.appendChild(el("style", { text: CSS }));
    }
  }

  var host = document.createElement("budgetbot-widget");
  var shadow = host.attachShadow({ mode: "open" });
  adoptStyles(shadow);

  var launcher = el("button", { type: "button", "class": "launcher", "aria-expanded": "false", "aria-controls": "budgetbot-panel",
                                "aria-label": "问预算：打开" + title + "助手", text: "问预算" });
  var closeButton = el("button", { type: "button", "class": "close", "aria-label": "关闭问答窗口", text: "×" });
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-label": "对话记录", tabindex: "0" });
  var input = el("input", { type: "text", name: "question", maxlength: String(MAX_CHARS), autocomplete: "off", enterkeyhint: "send",
                            placeholder: "输入问题，例如：三公经费多少", "aria-label": "输入您的问题" });
  var sendButton = el("button", { type: "submit", "class": "send", text: "发送" });
  var form = el("form", { "aria-label": "提问" }, [input, sendButton]);
  var panel = el("section", { id: "budgetbot-panel", "class": "panel", role: "dialog", "aria-label": title + "助手", hidden: "" }, [
    el("header", {}, [el("h2", { text: title }), closeButton]),
    log,
    form,
    el("p", { "class": "note", text: "回答中的数字摘自公开的部门预算文件，并注明出处。" })
  ]);
  shadow.appendChild(el("div", { "class": "root" }, [launcher, panel]));

  var sessionId = null; // kept for this page's lifetime only
  var busy = false;
  var greeted = false;

  function scrollToEnd() { log.scrollTop = log.scrollHeight; }

  function addMessage(kind, text) {
    var message = el("div", { "class": "msg " + kind }, [el("p", { text: text })]);
    log.appendChild(message);
    scrollToEnd();
    return message;
  }

  function citationText(c) {
    var parts = [c.document, c.table];
    if (c.row && c.row !== c.table) parts.push(c.row);
    return "出处：" + parts.filter(Boolean).join(" › ") + (c.page ? "（第 " + c.page + " 页）" : c.line ? "（第 " + c.line + " 行）" : "");
  }

  function citationItem(c) {
    var url = c.url && c.url.charAt(0) === "/" ? endpoint + c.url : c.url;
    if (!url || !/^https?:\/\//.test(url)) return el("li", { text: citationText(c) });
    var link = el("a", { href: url, target: "_blank", rel: "noopener", text: citationText(c) });
    return el("li", {}, [link]);
  }

  function chipGroup(label, questions) {
    var group = el("div", { "class": "chips", role: "group", "aria-label": label }, [el("span", { "class": "chips-label", text: label })]);
    questions.forEach(function (question) {
      var chip = el("button", { type: "button", "class": "chip", text: question });
      chip.addEventListener("click", function () { ask(question); input.focus(); });
      group.appendChild(chip);
    });
    return group;
  }

  var SVG = "http://www.w3.org/2000/svg";

  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // One bar per charted figure: the value is the answer's figure itself, the label the line it was listed on.
  function chart(answer) {
    var bars = (answer.chart.bars || []).map(function (bar) {
      var figure = (answer.figures || [])[bar.figure];
      return figure && { label: bar.label, value: figure.value, amount: Math.abs(parseFloat(String(figure.value).replace(/,/g, ""))) || 0 };
    }).filter(Boolean);
    if (bars.length < 2) return null;
    var unit = answer.chart.unit;
    var top = Math.max.apply(null, bars.map(function (b) { return b.amount; })) || 1;
    var row = 26, labelWidth = 130, plot = 150, width = 360;
    var summary = "条形图（" + unit + "）：" + bars.map(function (b) { return b.label + " " + b.value; }).join("；");
    var svg = svgEl("svg", { "class": "chart", role: "img", "aria-label": summary, viewBox: "0 0 " + width + " " + (row * bars.length + 6) });
    svg.appendChild(svgEl("title", {}, summary));
    bars.forEach(function (bar, n) {
      var y = 3 + n * row, length = Math.max(1, Math.round(plot * bar.amount / top));
      var short = bar.label.length > 9 ? bar.label.slice(0, 8) + "…" : bar.label;
      var group = svgEl("g", { "class": "bar-group" });
      group.appendChild(svgEl("title", {}, bar.label + "：" + bar.value + " " + unit));
      group.appendChild(svgEl("text", { x: labelWidth - 4, y: y + 16, "text-anchor": "end" }, short));
      group.appendChild(svgEl("rect", { "class": "bar", x: labelWidth, y: y + 4, width: length, height: row - 10, "data-label": bar.label, "data-value": bar.value }));
      group.appendChild(svgEl("text", { x: labelWidth + length + 4, y: y + 16 }, bar.value + " " + unit));
      svg.appendChild(group);
    });
    return svg;
  }

  function sendFeedback(answerId, rating, comment) {
    return fetch(endpoint + "/api/feedback", {
      method: "POST", mode: "cors", credentials: "omit", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ answer_id: answerId, rating: rating, comment: comment || null })
    }).then(function (response) { return response.ok; }).catch(function () { return false; });
  }

  // 👍 / 👎 under an answer; after 👎 the reader may say why (two common reasons or their own words).
  function tools(answer) {
    var bar = el("div", { "class": "tools" });
    var status = el("span", { "class": "thanks", "aria-live": "polite" });
    var up = el("button", { type: "button", "class": "rate", "aria-pressed": "false", "aria-label": "这个回答有用", text: "👍" });
    var down = el("button", { type: "button", "class": "rate", "aria-pressed": "false", "aria-label": "这个回答没用", text: "👎" });
    function rated(button, rating, comment) {
      up.setAttribute("aria-pressed", String(button === up));
      down.setAttribute("aria-pressed", String(button === down));
      sendFeedback(answer.id, rating, comment).then(function (ok) { status.textContent = ok ? "谢谢反馈！" : "反馈没有发出去"; });
    }
    up.addEventListener("click", function () { rated(up, "up"); });
    down.addEventListener("click", function () {
      rated(down, "down");
      if (bar.querySelector(".why")) return;
      var other = el("input", { type: "text", maxlength: "200", "aria-label": "其他原因", placeholder: "其他原因（可选）" });
      var submit = el("button", { type: "button", "class": "chip", text: "提交" });
      var why = el("div", { "class": "why", role: "group", "aria-label": "哪里不对？" }, [
        el("button", { type: "button", "class": "chip", text: "数字不对" }),
        el("button", { type: "button", "class": "chip", text: "没回答我的问题" }), other, submit]);
      why.querySelectorAll(".chip").forEach(function (chip) {
        chip.addEventListener("click", function () {
          var comment = chip === submit ? other.value.trim() : chip.textContent;
          if (comment) { rated(down, "down", comment); why.remove(); }
        });
      });
      bar.appendChild(why);
    });
    bar.appendChild(up);
    bar.appendChild(down);
    if ((answer.citations || []).length) {
      var base = endpoint + "/api/answers/" + encodeURIComponent(answer.id) + "/rows.";
      bar.appendChild(el("span", { text: "下载数据：" }));
      bar.appendChild(el("a", { href: base + "csv", download: "", text: "CSV" }));
      bar.appendChild(el("a", { href: base + "xlsx", download: "", text: "Excel" }));
    }
    bar.appendChild(status);
    return bar;
  }

  function renderAnswer(answer) {
    var message = addMessage("bot", answer.text || "");
    var citations = answer.citations || [];
    var drawn = answer.chart && chart(answer);
    if (drawn) message.appendChild(drawn);
    if (citations.length) {
      message.appendChild(el("ul", { "class": "cites", "aria-label": "出处" }, citations.map(citationItem)));
    }
    if ((answer.options || []).length) message.appendChild(chipGroup("请选择：", answer.options));
    if ((answer.suggestions || []).length) message.appendChild(chipGroup("您还可以问：", answer.suggestions));
    if (answer.id) message.appendChild(tools(answer));
    scrollToEnd();
  }

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    shadow.querySelectorAll(".chip").forEach(function (chip) { chip.disabled = value; });
  }

  function ask(question) {
    question = String(question || "").trim();
    if (!question || busy) return;
    open();
    if (question.length > MAX_CHARS) {
      addMessage("bot error", "问题太长了，请控制在 " + MAX_CHARS + " 字以内。");
      return;
    }
    addMessage("user", question);
    var pending = addMessage("bot pending", "正在查询…");
    pending.setAttribute("aria-busy", "true");
    setBusy(true);
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    fetch(endpoint + "/api/ask", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question: question, session_id: sessionId }),
      signal: controller.signal
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        pending.remove();
        if (response.ok && data) {
          sessionId = data.session_id || sessionId;
          renderAnswer(data);
        } else {
          addMessage("bot error", (data && data.message) || "服务暂时不可用（" + response.status + "），请稍后再试。");
        }
      });
    }).catch(function () {
      pending.remove();
      addMessage("bot error", "无法连接到问答服务，请检查网络后再试。");
    }).then(function () {
      clearTimeout(timer);
      setBusy(false);
    });
  }

  function open() {
    if (!panel.hidden) return;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (!greeted) {
      greeted = true;
      addMessage("bot", "您好！我可以回答部门预算公开文件里的问题，回答中的数字都注明出处。请输入您的问题。");
    }
    input.focus();
  }

  function close() {
    if (panel.hidden) return;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", open);
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); close(); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy || !input.value.trim()) return;
    var question = input.value;
    input.value = "";
    ask(question);
    input.focus();
  });
  document.addEventListener("click", function (event) {
    var trigger = event.target && event.target.closest && event.target.closest("[data-budgetbot-ask]");
    if (!trigger) return;
    event.preventDefault();
    ask(trigger.getAttribute("data-budgetbot-ask") || trigger.textContent);
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.BudgetBot = { open: open, close: close, ask: ask, endpoint: endpoint };
})();
