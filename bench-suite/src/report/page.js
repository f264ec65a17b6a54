// The page's interactions; without them every table and chart is still on the page.
"use strict";
const hidden = new Set();

// Hide every row, column, chart and series of a hidden strategy; a chart whose compare view
// names two strategies shows those two only.
function apply() {
  for (const e of document.querySelectorAll("[data-strategy]")) {
    e.classList.toggle("off", hidden.has(e.dataset.strategy));
  }
  for (const fig of document.querySelectorAll("figure.chart")) {
    const pair = fig.dataset.pair ? fig.dataset.pair.split(" ") : null;
    for (const g of fig.querySelectorAll("g.series")) {
      const n = g.dataset.series;
      g.classList.toggle("off", hidden.has(n) || (pair !== null && !pair.includes(n)));
    }
  }
}

const filter = document.getElementById("filter");
const names = [...filter.querySelectorAll("input")].map((i) => i.value);
filter.hidden = false;
filter.addEventListener("change", (ev) => {
  if (ev.target.checked) hidden.delete(ev.target.value);
  else hidden.add(ev.target.value);
  apply();
});

// Sorting: numbers as numbers, then text, and empty cells, "–", "n/a" and "not measured" last
// in either direction.
function key(cell) {
  const t = cell.textContent.trim();
  if (t === "" || t === "–" || t === "-" || t === "n/a" || t.startsWith("not measured")) return null;
  const m = t.replace(/[,\u00a0\u202f]/g, "").match(/^[^\d-]*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)/i);
  return m ? Number(m[1]) : t;
}
function compare(a, b) {
  if (a === null || b === null) return (a === null) - (b === null);
  if (typeof a !== typeof b) return typeof a === "number" ? -1 : 1;
  return typeof a === "number" ? a - b : a.localeCompare(b);
}
for (const table of document.querySelectorAll("main table")) {
  const heads = [...table.tHead.rows[0].cells];
  heads.forEach((th, col) => {
    th.classList.add("sortable");
    th.title = "sort by this column";
    th.tabIndex = 0;
    th.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        th.click();
      }
    });
    th.addEventListener("click", () => {
      const down = th.getAttribute("aria-sort") === "ascending";
      heads.forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", down ? "descending" : "ascending");
      const body = table.tBodies[0];
      const rows = [...body.rows].map((r) => [key(r.cells[col] || r.cells[0]), r]);
      rows.sort((x, y) => {
        if (x[0] === null || y[0] === null) return compare(x[0], y[0]);
        return down ? compare(y[0], x[0]) : compare(x[0], y[0]);
      });
      for (const [, r] of rows) body.append(r);
    });
  });
}

// The point nearest the cursor on a chart: its series and exact values (the markers' titles).
const tip = document.createElement("div");
tip.id = "tip";
tip.hidden = true;
document.body.append(tip);
for (const svg of document.querySelectorAll("figure.chart svg")) {
  const points = [];
  for (const t of svg.querySelectorAll("g.series > * > title")) {
    t.parentElement.dataset.tip = t.textContent;
    points.push(t.parentElement);
    t.remove(); // the page's tip replaces the browser's
  }
  svg.addEventListener("mousemove", (ev) => {
    let best = null;
    let bestD = 24 * 24;
    for (const p of points) {
      if (p.closest(".off")) continue;
      const r = p.getBoundingClientRect();
      const dx = r.x + r.width / 2 - ev.clientX;
      const dy = r.y + r.height / 2 - ev.clientY;
      if (dx * dx + dy * dy < bestD) {
        bestD = dx * dx + dy * dy;
        best = p;
      }
    }
    tip.hidden = best === null;
    if (best !== null) {
      tip.textContent = best.dataset.tip;
      tip.style.left = ev.pageX + 12 + "px";
      tip.style.top = ev.pageY + 12 + "px";
    }
  });
  svg.addEventListener("mouseleave", () => (tip.hidden = true));
}

// Two strategies on one chart: a compare view on each chart of several strategies.
for (const fig of document.querySelectorAll("figure.chart")) {
  const series = [...fig.querySelectorAll("g.series")].map((g) => g.dataset.series);
  const mine = series.filter((n) => names.includes(n));
  if (mine.length < 3) continue;
  const p = document.createElement("p");
  p.className = "compare";
  const pick = (label) => {
    const s = document.createElement("select");
    s.setAttribute("aria-label", label);
    s.append(new Option("all", ""), ...mine.map((n) => new Option(n, n)));
    return s;
  };
  const a = pick("compare");
  const b = pick("with");
  const update = () => {
    if (a.value && b.value) fig.dataset.pair = a.value + " " + b.value;
    else delete fig.dataset.pair;
    apply();
  };
  a.addEventListener("change", update);
  b.addEventListener("change", update);
  p.append("Compare ", a, " with ", b, " on this chart");
  fig.prepend(p);
}

window.addEventListener("beforeprint", () => {
  for (const d of document.querySelectorAll("details")) d.open = true;
});
