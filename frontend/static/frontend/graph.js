/* The case network (lead console): cytoscape.js over the JSON the page carries in a
   json_script element. Two uses:

   - the graph page (#graph[data-graph]): draw, filter links by signal, show a node in the side
     panel on click;
   - the report (#report-graph[data-graph]): draw off-screen once and put the picture into an
     <img>, so it prints (body[data-graph-ready] tells the print button and the tests it is there).

   Account names and bios come from adversaries: they reach the DOM only through textContent
   (cytoscape draws labels on a canvas). No eval, no inline style: the CSP allows neither. */
(function () {
  "use strict";

  const VERDICT_COLOURS = {
    inauthentic: "#c0362c",
    authentic: "#1a7f37",
    unsure: "#d49a00",
    disputed: "#6e40c9",
    unlabelled: "#9aa5b1",
    hidden: "#d5dbe1",
    outside: "#ffffff",
    brand: "#0b63c4",
  };
  const VERDICT_WORDS = {
    inauthentic: "Inauthentic",
    authentic: "Authentic",
    unsure: "Unsure",
    disputed: "Disputed (labels tie)",
    unlabelled: "Not labelled yet",
    hidden: "Hidden until you label it",
    outside: "Not on the case",
  };

  // Characters that reorder or hide text (bidi overrides, zero-width, BOM) shown as [U+202E], as
  // the server-side "reveal" filter does: "evil\u202egnp.exe" must not read as "evilexe.png".
  const CONTROLS = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
  function reveal(text) {
    return String(text).replace(CONTROLS, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}]`);
  }

  function readData(id) {
    const element = document.getElementById(id);
    if (!element) return null;
    const data = JSON.parse(element.textContent);
    data.nodes.forEach((node) => {
      if (node.data.label) node.data.label = reveal(node.data.label);
    });
    return data;
  }

  function styles(labels) {
    return [
      {
        selector: "node",
        style: {
          width: "data(size)",
          height: "data(size)",
          "background-color": (node) => VERDICT_COLOURS[node.data("verdict")] || VERDICT_COLOURS.unlabelled,
          "border-width": 1,
          "border-color": "#57606a",
          label: labels ? "data(label)" : "",
          "font-size": 9,
          color: "#1b1f24",
          "text-valign": "bottom",
          "text-margin-y": 2,
          "min-zoomed-font-size": 8,
        },
      },
      { selector: 'node[kind = "brand"]', style: { shape: "diamond", "border-color": "#0a4f9c" } },
      { selector: 'node[kind = "source"]', style: { shape: "round-rectangle", "border-style": "dashed" } },
      { selector: 'node[account_kind = "reference"]', style: { shape: "round-rectangle" } },
      {
        selector: "edge",
        style: {
          width: 1.2,
          "line-color": "#8a939e",
          "curve-style": "haystack",
          opacity: 0.75,
        },
      },
      { selector: 'edge[kind = "suggestion"]', style: { "line-color": "#3451b2", width: (e) => 1 + 3 * (e.data("score") || 0) } },
      { selector: 'edge[status = "pending"]', style: { "line-style": "dashed", "line-dash-pattern": [6, 4], "curve-style": "straight" } },
      { selector: 'edge[kind = "brand"]', style: { "line-color": "#0b63c4", opacity: 0.45 } },
      {
        selector: 'edge[kind = "copy"]',
        style: {
          "line-color": "#d46b08",
          "curve-style": "straight",
          "target-arrow-shape": "triangle",
          "target-arrow-color": "#d46b08",
          "arrow-scale": 0.7,
          width: (e) => Math.min(1 + Math.log2(1 + (e.data("count") || 1)), 6),
        },
      },
      { selector: ".filtered", style: { display: "none" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#1b1f24" } },
    ];
  }

  // A force layout tuned to stay readable at 500 nodes and to finish in about a second there:
  // fewer iterations as the graph grows, no animation, components packed side by side.
  function layoutOptions(count) {
    return {
      name: "cose",
      animate: false,
      randomize: true,
      fit: true,
      padding: 24,
      nodeDimensionsIncludeLabels: false,
      nodeRepulsion: () => 6000,
      nodeOverlap: 6,
      idealEdgeLength: () => (count > 300 ? 40 : 70),
      edgeElasticity: () => 120,
      nestingFactor: 1.2,
      gravity: count > 300 ? 0.6 : 0.3,
      numIter: count > 1000 ? 300 : count > 300 ? 600 : 1000,
      initialTemp: 400,
      coolingFactor: 0.95,
      minTemp: 1.0,
      componentSpacing: 40,
    };
  }

  function draw(container, data, { labels }) {
    const started = performance.now();
    const cy = window.cytoscape({
      container,
      elements: { nodes: data.nodes, edges: data.edges },
      style: styles(labels),
      layout: layoutOptions(data.nodes.length),
      minZoom: 0.1,
      maxZoom: 4,
      wheelSensitivity: 0.4,
      boxSelectionEnabled: false,
      pixelRatio: "auto",
    });
    return { cy, ms: Math.round(performance.now() - started) };
  }

  function setField(panel, name, text) {
    const element = panel.querySelector(`[data-field="${name}"]`);
    if (element) element.textContent = reveal(text);
  }

  function showNode(panel, node) {
    const d = node.data();
    panel.querySelector("[data-panel-empty]").hidden = true;
    panel.querySelector("[data-panel-body]").hidden = false;
    const brand = d.kind === "brand";
    setField(panel, "label", d.label || "");
    setField(panel, "display_name", brand ? (d.impersonates ? `impersonates ${d.impersonates}` : "") : d.display_name || "");
    setField(panel, "platform", brand ? "Media brand" : d.platform || "");
    setField(panel, "followers", d.followers === null || d.followers === undefined ? "unknown" : d.followers.toLocaleString("en"));
    let verdict = VERDICT_WORDS[d.verdict] || d.verdict || "";
    if (d.verdict_source === "adjudication") verdict += " (adjudicated)";
    setField(panel, "verdict", brand ? "—" : verdict);
    setField(panel, "labels", brand ? "—" : String(d.labels || 0));
    setField(panel, "outcome", d.outcome || "none recorded");
    const edges = node.connectedEdges().filter((e) => !e.hasClass("filtered"));
    setField(panel, "degree", String(edges.length));
    setField(panel, "bio", d.bio || "");
    panel.dataset.node = d.id;
  }

  function applyFilter(cy, form) {
    const on = new Set(Array.from(form.querySelectorAll("[data-signal]:checked"), (i) => i.value));
    const pending = form.querySelector("[data-pending]").checked;
    cy.batch(() => {
      cy.edges().forEach((edge) => {
        const shown = edge.data("signals").some((s) => on.has(s)) && (pending || edge.data("status") !== "pending");
        if (shown) edge.removeClass("filtered");
        else edge.addClass("filtered");
      });
    });
    cy.container().dataset.visibleEdges = String(cy.edges().not(".filtered").length);
  }

  function initGraphPage(container) {
    const data = readData(container.dataset.graph);
    if (!data) return;
    container.textContent = "";
    // Labels always: cytoscape hides them while they would be drawn smaller than 8 px (zoom in).
    const { cy, ms } = draw(container, data, { labels: true });
    container.dataset.ready = "true";
    container.dataset.layoutMs = String(ms);
    container.dataset.visibleEdges = String(cy.edges().length);
    window.caseGraph = cy; // for the browser tests and the curious: read-only use
    const panel = document.getElementById("node-panel");
    cy.on("tap", "node", (event) => showNode(panel, event.target));
    const form = document.getElementById("graph-filter");
    if (form) form.addEventListener("change", () => applyFilter(cy, form));
  }

  function initReport(figure) {
    const data = readData(figure.dataset.graph);
    const image = figure.querySelector("img");
    const done = () => document.body.setAttribute("data-graph-ready", "true");
    if (!data || !data.nodes.length || !image) {
      const empty = figure.querySelector("[data-graph-pending]");
      if (empty && data) empty.textContent = "No accounts on the case yet: nothing to draw.";
      done();
      return;
    }
    const stage = document.createElement("div");
    stage.className = "graph-offscreen";
    document.body.appendChild(stage);
    const { cy } = draw(stage, data, { labels: data.nodes.length <= 120 });
    image.src = cy.png({ full: true, scale: 2, maxWidth: 2000, maxHeight: 1400, bg: "#ffffff" });
    image.hidden = false;
    const note = figure.querySelector("[data-graph-pending]");
    if (note) note.hidden = true;
    cy.destroy();
    stage.remove();
    if (image.complete) done();
    else image.addEventListener("load", done, { once: true });
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach((button) => {
      button.addEventListener("click", () => window.print());
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const graph = document.querySelector("#graph[data-graph]");
    if (graph) initGraphPage(graph);
    const figure = document.querySelector("#report-graph[data-graph]");
    if (figure) initReport(figure);
    printButtons();
  });
})();
