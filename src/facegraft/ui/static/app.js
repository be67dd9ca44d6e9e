// facegraft ui: plain JavaScript over the JSON API in facegraft/ui/server.py. No build step, no libraries.
"use strict";

(() => {
  const HEADERS = { "X-Facegraft": "1" }; // the server refuses changing requests without it (CSRF guard)
  let info = { max_upload_bytes: Infinity, live: false, cameras: [] };

  // ---------------------------------------------------------------- requests
  async function handle(res) {
    const type = res.headers.get("Content-Type") || "";
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      if (type.startsWith("application/json")) {
        try { message = (await res.json()).error || message; } catch (_) { /* keep the status line */ }
      }
      throw new Error(message);
    }
    return type.startsWith("application/json") ? res.json() : res.blob();
  }

  async function request(method, url, body) {
    const init = { method, headers: { ...HEADERS } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return handle(await fetch(url, init));
  }

  // Uploads go as the raw request body (no multipart), with XHR for a progress readout.
  function upload(url, file, onProgress) {
    if (file.size > info.max_upload_bytes) {
      const mb = (n) => `${(n / 1048576).toFixed(0)} MB`;
      return Promise.reject(new Error(`${file.name} is ${mb(file.size)}; the limit is ${mb(info.max_upload_bytes)}`));
    }
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.setRequestHeader("X-Facegraft", "1");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        if (xhr.status >= 400) reject(new Error((data && data.error) || `upload failed (${xhr.status})`));
        else resolve(data);
      };
      xhr.onerror = () => reject(new Error("the upload failed: the server closed the connection"));
      xhr.send(file);
    });
  }

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function seconds(s) {
    if (s === null || s === undefined || !isFinite(s)) return "";
    s = Math.max(0, Math.round(s));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function facts(item) {
    if (item.kind === "video") {
      return `video ${item.width}×${item.height}, ${item.duration.toFixed(1)} s, ${item.frames} frames`;
    }
    if (item.kind === "image") return `image ${item.width}×${item.height}`;
    if (item.kind === "profile") return "saved profile";
    if (item.kind === "motion") return `motion file, ${item.frames} frames`;
    return item.kind;
  }

  function setStatus(node, text, error = false) {
    if (!node) return;
    node.textContent = text;
    node.classList.toggle("error", error);
  }

  const banner = $("#banner");
  function showBanner(text) { banner.textContent = text; banner.hidden = !text; }

  // ---------------------------------------------------------------- tabs
  const tabs = $$('[role="tab"]');
  const shown = new Set();
  function selectTab(tab, focus) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(`#${t.getAttribute("aria-controls")}`).hidden = !on;
    }
    if (focus) tab.focus();
    history.replaceState(null, "", `#${tab.id.slice(4)}`);
    for (const callback of shown) callback(tab.id.slice(4));
  }
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab, false));
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      selectTab(tabs[(next + tabs.length) % tabs.length], true);
    });
  }

  // ---------------------------------------------------------------- drop zones
  function setupDrop(label, onFiles) {
    const input = $("input[type=file]", label);
    input.addEventListener("change", () => {
      const files = [...input.files];
      input.value = "";
      if (files.length) onFiles(files);
    });
    label.addEventListener("dragover", (e) => { e.preventDefault(); label.classList.add("over"); });
    label.addEventListener("dragleave", () => label.classList.remove("over"));
    label.addEventListener("drop", (e) => {
      e.preventDefault();
      label.classList.remove("over");
      const files = [...e.dataTransfer.files];
      if (files.length) onFiles(input.multiple ? files : files.slice(0, 1));
    });
  }

  // ---------------------------------------------------------------- a tab's workspace (its draft job)
  // Which input each tab shows on its stage and scrubs through.
  const STAGE_ROLE = { swap: "target", reenact: "driver", analyze: "input", live: null };

  class Workspace {
    constructor(panel) {
      this.panel = panel;
      this.kind = panel.dataset.kind;
      this.form = $("form", panel);
      this.status = $("[data-status]", panel);
      this.draft = null;
      this.time = 0;
      this.picks = []; // swap: faces clicked on the target, {time, face}
      this.previewBusy = false;
      this.previewAgain = false;
      this.previewSerial = 0;
      for (const label of $$(".drop[data-role]", panel)) {
        setupDrop(label, (files) => this.upload(label, label.dataset.role, files));
      }
      const reset = $("[data-reset]", panel);
      if (reset) reset.addEventListener("click", () => this.reset());
      const scrub = $("[data-scrub-input]", panel);
      if (scrub) {
        scrub.addEventListener("input", () => {
          this.time = Number(scrub.value);
          $("[data-scrub-out]", panel).textContent = `${this.time.toFixed(2)} s`;
          this.showFrame();
        });
      }
      if (this.form) {
        this.form.addEventListener("submit", (e) => { e.preventDefault(); this.run(); });
        this.form.addEventListener("input", (e) => this.changed(e));
        this.form.addEventListener("change", (e) => this.changed(e));
      }
    }

    async load() {
      this.draft = await request("GET", `/api/drafts/${this.kind}`);
      this.render();
    }

    files(role) { return this.draft ? this.draft.inputs.filter((f) => f.role === role) : []; }
    url(path) { return `/api/jobs/${this.draft.id}${path}`; }
    frameUrl(item, time) { return this.url(`/frame?name=${encodeURIComponent(item.name)}&t=${time.toFixed(3)}`); }

    // One upload at a time per tab: each reply is the whole draft, so replies must not cross.
    upload(label, role, files) {
      this.uploads = (this.uploads || Promise.resolve()).then(() => this.uploadNow(label, role, files));
      return this.uploads;
    }

    async uploadNow(label, role, files) {
      label.classList.add("busy");
      try {
        for (const file of files) {
          setStatus(this.status, `Uploading ${file.name}…`);
          const url = this.url(`/inputs/${role}?name=${encodeURIComponent(file.name)}`);
          this.draft = await upload(url, file, (share) => {
            setStatus(this.status, `Uploading ${file.name}… ${Math.round(share * 100)}%`);
          });
          if (role === STAGE_ROLE[this.kind]) { this.time = 0; this.picks = []; }
          this.render();
        }
        const noticed = this.draft.inputs.find((f) => f.role === role && f.notice);
        setStatus(this.status, noticed ? `${noticed.label}: ${noticed.notice}` : "");
      } catch (err) {
        setStatus(this.status, err.message, true);
      } finally {
        label.classList.remove("busy");
      }
    }

    async remove(item) {
      try {
        this.draft = await request("DELETE", this.url(`/inputs/${item.name}`));
        this.render();
      } catch (err) { setStatus(this.status, err.message, true); }
    }

    async reset() {
      try {
        this.draft = await request("POST", `/api/drafts/${this.kind}/reset`);
        this.time = 0;
        this.picks = [];
        this.render();
        setStatus(this.status, "");
      } catch (err) { setStatus(this.status, err.message, true); }
    }

    render() {
      for (const list of $$("[data-files]", this.panel)) {
        list.replaceChildren(...this.files(list.dataset.files).map((item) => this.fileItem(item)));
      }
      this.setupScrub();
      this.showFrame();
      this.renderExtra();
    }

    renderExtra() {}

    fileItem(item) {
      const thumb = item.kind === "image" || item.kind === "video"
        ? el("img", { src: this.frameUrl(item, 0), alt: "" }) : null;
      return el("li", {}, thumb,
        el("span", { class: "what" }, el("span", { class: "name", text: item.label, title: item.label }),
          el("span", { class: "facts", text: facts(item) }),
          item.notice ? el("span", { class: "notice", text: item.notice }) : null),
        el("button", { type: "button", class: "small quiet", "aria-label": `Remove ${item.label}`, text: "Remove",
          onclick: () => this.remove(item) }));
    }

    stageItem() {
      const role = STAGE_ROLE[this.kind];
      return role ? this.files(role)[0] : undefined;
    }

    setupScrub() {
      const box = $("[data-scrub]", this.panel);
      if (!box) return;
      const item = this.stageItem();
      const video = item && (item.kind === "video" || item.kind === "motion");
      box.hidden = !video;
      const scrub = $("[data-scrub-input]", this.panel);
      if (video) {
        const last = Math.max(0, item.duration - 1 / Math.max(item.fps, 1));
        scrub.max = last.toFixed(3);
        scrub.step = (1 / Math.max(item.fps, 1)).toFixed(4);
        this.time = Math.min(this.time, last);
        scrub.value = String(this.time);
        $("[data-scrub-out]", this.panel).textContent = `${this.time.toFixed(2)} s`;
      }
    }

    showFrame() {
      const frame = $("[data-frame]", this.panel);
      if (!frame) return;
      const img = $("[data-frame-img]", frame);
      const item = this.stageItem();
      const visible = item && (item.kind === "image" || item.kind === "video");
      img.hidden = !visible;
      $("[data-empty]", frame).hidden = Boolean(visible);
      if (!visible) {
        img.removeAttribute("src");
        if (item && item.kind === "motion") $("[data-empty]", frame).textContent = `Motion file: ${facts(item)}.`;
        $("[data-empty]", frame).hidden = false;
      } else {
        img.src = this.frameUrl(item, item.kind === "video" ? this.time : 0);
      }
      this.frameChanged();
    }

    frameChanged() {}
    changed() {}

    settings() { return {}; }

    async run() {
      const button = $("[data-run]", this.panel);
      button.disabled = true;
      try {
        await this.uploads;  // a file still uploading belongs to the job the user just asked for
        const job = await request("POST", this.url("/submit"), { settings: this.settings() });
        this.followed = { id: job.id, state: job.state };
        setStatus(this.status, `Queued as job ${job.id.slice(1, 9)}: follow it in Jobs below.`);
        jobs.refresh();
      } catch (err) {
        setStatus(this.status, err.message, true);
      } finally {
        button.disabled = false;
      }
    }

    // Previews: at most one request in flight; changes made meanwhile trigger one more.
    schedulePreview(delay = 60) {
      clearTimeout(this.previewTimer);
      this.previewTimer = setTimeout(() => this.previewNow(), delay);
    }

    previewBlocker() { return null; }

    async previewNow() {
      const img = $("[data-preview-img]", this.panel);
      const empty = $("[data-preview-empty]", this.panel);
      if (!img) return;
      const blocker = this.previewBlocker();
      if (blocker) {
        img.hidden = true;
        empty.hidden = false;
        empty.textContent = blocker;
        $("[data-took]", this.panel).textContent = "";
        return;
      }
      if (this.previewBusy) { this.previewAgain = true; return; }
      this.previewBusy = true;
      const started = performance.now();
      try {
        const blob = await request("POST", this.url("/preview"), { settings: this.previewSettings(), time: this.time });
        const old = img.src;
        img.src = URL.createObjectURL(blob);
        if (old.startsWith("blob:")) URL.revokeObjectURL(old);
        img.hidden = false;
        empty.hidden = true;
        this.previewSerial += 1;
        img.dataset.serial = String(this.previewSerial);
        $("[data-took]", this.panel).textContent = `${Math.round(performance.now() - started)} ms`;
        if (this.status.classList.contains("error")) setStatus(this.status, "");
      } catch (err) {
        setStatus(this.status, err.message, true);
      } finally {
        this.previewBusy = false;
        if (this.previewAgain) { this.previewAgain = false; this.previewNow(); }
      }
    }

    previewSettings() { return this.settings(); }

    // The status line follows the job this tab last queued until it ends, then says how it ended.
    follow(jobs) {
      if (!this.followed) return;
      const job = jobs.find((j) => j.id === this.followed.id);
      if (!job) { this.followed = null; return; }
      if (job.state === this.followed.state) return;
      this.followed.state = job.state;
      const name = `Job ${job.id.slice(1, 9)}`;
      if (job.state === "running") setStatus(this.status, `${name} is running: see Jobs below.`);
      else if (job.state === "done") setStatus(this.status, `${name} finished: ${job.summary || "done"}.`);
      else if (job.state === "failed") setStatus(this.status, `${name} failed: ${job.error || "see Jobs below"}`, true);
      else if (job.state === "cancelled") setStatus(this.status, `${name} was cancelled.`);
      if (job.state !== "queued" && job.state !== "running") this.followed = null;
    }
  }

  const value = (form, name) => form.elements[name].value;
  const checked = (form, name) => form.elements[name].checked;

  // ---------------------------------------------------------------- Swap
  const PRESET_LOOK = { fast: { blend: "alpha", occlusion: false }, balanced: { blend: "multiband", occlusion: true },
    quality: { blend: "multiband", occlusion: true } };

  // The --background option's text: "none", "blur:STRENGTH" or "color:#RRGGBB".
  const backgroundOption = (f) => {
    const kind = value(f, "background_kind");
    if (kind === "blur") return `blur:${value(f, "background_strength")}`;
    if (kind === "color") return `color:${value(f, "background_color")}`;
    return "none";
  };

  class SwapSpace extends Workspace {
    constructor(panel) {
      super(panel);
      this.faceLayer = $("[data-faces]", panel);
      $("[data-frame-img]", panel).addEventListener("load", () => this.placeFaces());
      window.addEventListener("resize", () => this.placeFaces());
    }

    settings() {
      const f = this.form;
      const settings = {
        preset: value(f, "preset"), shape_transfer: Number(value(f, "shape_transfer")),
        detail: Number(value(f, "detail")), blend: value(f, "blend"), eyes: value(f, "eyes"),
        occlusion: checked(f, "occlusion"), faces: value(f, "faces"), label_text: value(f, "label_text"),
        label_corner: value(f, "label_corner"), report: checked(f, "report"), consent: checked(f, "consent"),
        background: backgroundOption(f),
      };
      if (settings.faces === "reference") settings.references = this.picks;
      return settings;
    }

    previewBlocker() {
      if (!this.files("source").length) return "Add a source photo to see the swap.";
      if (!this.stageItem()) return "Add a target to see the swap.";
      if (!checked(this.form, "consent")) return "Confirm consent (left) to see the swap.";
      if (value(this.form, "faces") === "reference" && !this.picks.length) return "Pick a face on the target.";
      return null;
    }

    changed(e) {
      const target = e && e.target;
      if (target && target.name === "preset" && e.type === "change") {
        const look = PRESET_LOOK[target.value];
        this.form.elements.blend.value = look.blend;
        this.form.elements.occlusion.checked = look.occlusion;
      }
      for (const out of $$("output[for]", this.form)) {
        out.textContent = Number($(`#${out.htmlFor}`).value).toFixed(2);
      }
      const picking = value(this.form, "faces") === "reference";
      for (const node of $$("[data-show-when]", this.form)) node.hidden = !picking;
      if (target && target.name === "faces") this.frameChanged();
      if (target && target.name === "label_text" && e.type === "input") return; // wait for change
      this.schedulePreview();
    }

    frameChanged() {
      this.faces = null;
      this.faceLayer.replaceChildren();
      const item = this.stageItem();
      if (item && value(this.form, "faces") === "reference") this.loadFaces(item, this.time);
      this.schedulePreview(item && item.kind === "video" ? 120 : 0);
    }

    async loadFaces(item, time) {
      try {
        const url = this.url(`/faces?name=${encodeURIComponent(item.name)}&t=${time.toFixed(3)}`);
        const found = await request("GET", url);
        if (time !== this.time) return; // scrubbed on meanwhile
        this.faces = found;
        this.placeFaces();
        if (!found.faces.length) setStatus(this.status, "No face found in this frame: try another time.");
      } catch (err) { setStatus(this.status, err.message, true); }
    }

    // Face boxes are buttons laid over the frame image, so they work with the keyboard too.
    placeFaces() {
      const img = $("[data-frame-img]", this.panel);
      if (!this.faces || img.hidden || !img.naturalWidth) return;
      const frame = $("[data-frame]", this.panel).getBoundingClientRect();
      const box = img.getBoundingClientRect();
      const sx = box.width / this.faces.width;
      const sy = box.height / this.faces.height;
      const time = Number(this.time.toFixed(3));
      this.faceLayer.replaceChildren(...this.faces.faces.map((face) => {
        const [x0, y0, x1, y1] = face.box;
        const picked = this.picks.some((p) => p.face === face.index && p.time === time);
        const button = el("button", { type: "button", "aria-pressed": String(picked),
          "aria-label": `Face ${face.index + 1}${picked ? " (picked)" : ""}`,
          onclick: () => this.togglePick(face.index, time) }, el("span", { text: `Face ${face.index + 1}` }));
        button.style.left = `${box.left - frame.left + x0 * sx}px`;
        button.style.top = `${box.top - frame.top + y0 * sy}px`;
        button.style.width = `${(x1 - x0) * sx}px`;
        button.style.height = `${(y1 - y0) * sy}px`;
        return button;
      }));
    }

    togglePick(face, time) {
      const at = this.picks.findIndex((p) => p.face === face && p.time === time);
      if (at >= 0) this.picks.splice(at, 1);
      else this.picks.push({ time, face });
      const focused = document.activeElement && document.activeElement.closest("[data-faces]");
      this.placeFaces();
      if (focused) $$("button", this.faceLayer)[face]?.focus();
      const n = this.picks.length;
      setStatus(this.status, n ? `${n} face${n > 1 ? "s" : ""} picked: each person who looks like them is swapped.` : "");
      this.schedulePreview();
    }
  }

  // ---------------------------------------------------------------- Reenact
  class ReenactSpace extends Workspace {
    settings() {
      const f = this.form;
      const neutral = value(f, "driver_neutral").trim();
      const settings = { absolute: value(f, "motion") === "absolute", label_text: value(f, "label_text"),
        label_corner: value(f, "label_corner"), consent: checked(f, "consent") };
      if (neutral !== "") settings.driver_neutral = Number(neutral);
      return settings;
    }

    previewBlocker() {
      if (!this.files("portrait").length) return "Add a portrait to see it move.";
      if (!this.stageItem()) return "Add a driver to see the portrait move.";
      if (!checked(this.form, "consent")) return "Confirm consent (left) to see the portrait move.";
      return null;
    }

    changed(e) {
      if (e && e.target && e.target.type === "text" && e.type === "input") return; // wait for change
      this.schedulePreview(150);
    }

    frameChanged() { this.schedulePreview(this.stageItem() ? 120 : 0); }
  }

  // ---------------------------------------------------------------- Analyze
  class AnalyzeSpace extends Workspace {
    settings() {
      const f = this.form;
      return { format: value(f, "format"), max_faces: Number(value(f, "max_faces")),
        smoothing: checked(f, "smoothing"), overlay: checked(f, "overlay") };
    }

    previewSettings() { return {}; }
    previewBlocker() { return this.stageItem() ? null : "Add an image or video to see what is measured."; }
    frameChanged() { this.schedulePreview(this.stageItem() && this.stageItem().kind === "video" ? 120 : 0); }

    showPlot(job) {
      const figure = $("[data-plot]", this.panel);
      const plot = job && job.outputs.find((o) => o.role === "plot");
      figure.hidden = !plot;
      if (!plot) return;
      const src = `/api/jobs/${job.id}/files/${plot.name}`;
      if ($("[data-plot-img]", figure).getAttribute("src") !== src) $("[data-plot-img]", figure).src = src;
      const input = job.inputs.find((i) => i.role === "input");
      $("[data-plot-name]", figure).textContent = input ? `(${input.label})` : "";
    }
  }

  // ---------------------------------------------------------------- Live
  class LiveSpace extends Workspace {
    constructor(panel) {
      super(panel);
      this.startButton = $("[data-live-start]", panel);
      this.stopButton = $("[data-live-stop]", panel);
      this.view = $("[data-live-img]", panel);
      this.stopButton.addEventListener("click", () => this.stop());
    }

    setup() {
      const select = $("#live-camera");
      const cams = info.cameras.length ? info.cameras : [];
      select.replaceChildren(...(cams.length ? cams.map((c) => el("option", { value: c, text: c }))
        : [el("option", { value: "0", text: "none found" })]));
      $("#live-virtual").replaceChildren(el("option", { value: "", text: "None" }),
        ...cams.map((c) => el("option", { value: c, text: c })));
      if (!info.live) {
        this.startButton.disabled = true;
        setStatus(this.status, "Live mode is not available in this installation (facegraft.live is missing).", true);
      }
      this.changed();
    }

    changed() {
      const kind = value(this.form, "input_type");
      for (const node of $$("[data-show-when-input]", this.form)) node.hidden = node.dataset.showWhenInput !== kind;
    }

    settings() {
      const f = this.form;
      return { preset: value(f, "preset"), faces: value(f, "faces"), label_text: value(f, "label_text"),
        consent: checked(f, "consent") };
    }

    input() {
      const type = value(this.form, "input_type");
      if (type === "camera") return { type, value: value(this.form, "camera") };
      if (type === "url") return { type, value: value(this.form, "url") };
      return { type };
    }

    async run() {
      this.startButton.disabled = true;
      try {
        await this.uploads;
        await request("POST", "/api/live/start", { settings: this.settings(), input: this.input(),
          virtual_camera: value(this.form, "virtual_camera") || null });
        this.view.src = `/api/live/stream?session=${Date.now()}`;
        this.view.hidden = false;
        $("[data-live-empty]", this.panel).hidden = true;
        this.stopButton.disabled = false;
        setStatus(this.status, "Starting…");
        this.poll();
      } catch (err) {
        setStatus(this.status, err.message, true);
        this.startButton.disabled = !info.live;
      }
    }

    async stop() {
      try { await request("POST", "/api/live/stop"); } catch (err) { setStatus(this.status, err.message, true); }
    }

    async poll() {
      clearTimeout(this.pollTimer);
      let stats;
      try { stats = await request("GET", "/api/live/stats"); } catch (err) { stats = { state: "failed", error: err.message }; }
      for (const dd of $$("[data-stat]", this.panel)) {
        const v = stats[dd.dataset.stat];
        dd.textContent = v === undefined ? "–" : (dd.dataset.stat === "latency_ms" ? `${v} ms`
          : dd.dataset.stat === "fps" ? `${v} fps` : String(v));
      }
      if (stats.state === "running" || stats.state === "starting") {
        if (stats.state === "running") setStatus(this.status, `Live from ${stats.input} (${stats.width}×${stats.height})`);
        this.pollTimer = setTimeout(() => this.poll(), 500);
        return;
      }
      this.view.removeAttribute("src");
      this.view.hidden = true;
      $("[data-live-empty]", this.panel).hidden = false;
      this.stopButton.disabled = true;
      this.startButton.disabled = !info.live;
      if (stats.error) setStatus(this.status, stats.error, true);
      else setStatus(this.status, "Stopped.");
    }
  }

  // ---------------------------------------------------------------- Verify
  function setupVerify() {
    const panel = $("#panel-verify");
    const verdict = $("[data-verdict]", panel);
    const label = $(".drop", panel);
    setupDrop(label, async (files) => {
      const file = files[0];
      verdict.className = "verdict";
      verdict.replaceChildren(el("p", { text: `Checking ${file.name}…` }));
      label.classList.add("busy");
      try {
        const r = await upload(`/api/verify?name=${encodeURIComponent(file.name)}`, file, () => {});
        verdict.classList.add(r.found ? "yes" : "no");
        const lines = r.found
          ? [el("p", { class: "answer", text: "Made by facegraft: watermark found" }),
             el("p", { text: `Version ${r.version}, run ${r.run}, confidence ${r.confidence.toFixed(2)} ` +
               `(${r.frames_marked} of ${r.frames_checked} frames readable alone; ` +
               `evidence score ${r.score.toFixed(1)}, found from ${r.threshold}).` })]
          : [el("p", { class: "answer", text: "No facegraft watermark found" }),
             el("p", { text: `${r.frames_checked} frame(s) checked. Other tools leave no facegraft mark, so this does not show the file is unedited.` })];
        if (r.metadata) lines.push(el("p", { class: "hint", text: `Metadata: ${r.metadata}` }));
        verdict.replaceChildren(el("p", { class: "hint", text: r.name }), ...lines);
      } catch (err) {
        verdict.classList.add("error");
        verdict.replaceChildren(el("p", { class: "answer", text: "Could not check the file" }), el("p", { text: err.message }));
      } finally {
        label.classList.remove("busy");
      }
    });
  }

  // ---------------------------------------------------------------- Jobs
  const ROLE_ACTIONS = [
    ["output", "Download", true], ["report", "Evaluation report", false], ["motion", "Motion file", true],
    ["overlay", "Mesh overlay", false],
  ];

  class Jobs {
    constructor(section) {
      this.list = $("[data-jobs]", section);
      this.empty = $("[data-jobs-empty]", section);
      this.items = new Map();
      this.timer = null;
    }

    async refresh() {
      clearTimeout(this.timer);
      let active = false;
      try {
        const { jobs } = await request("GET", "/api/jobs");
        this.render(jobs);
        active = jobs.some((j) => j.state === "running" || j.state === "queued");
        showBanner("");
      } catch (err) {
        showBanner(`Lost contact with the facegraft server (${err.message}). Is \`facegraft ui\` still running?`);
      }
      this.timer = setTimeout(() => this.refresh(), active ? 600 : 2500);
    }

    render(jobs) {
      this.empty.hidden = jobs.length > 0;
      const seen = new Set();
      jobs.forEach((job, index) => {
        seen.add(job.id);
        let li = this.items.get(job.id);
        if (!li) {
          li = el("li", { class: "job", "data-id": job.id });
          this.items.set(job.id, li);
        }
        this.update(li, job);
        if (this.list.children[index] !== li) this.list.insertBefore(li, this.list.children[index] || null);
      });
      for (const [id, li] of this.items) {
        if (!seen.has(id)) { li.remove(); this.items.delete(id); }
      }
      for (const space of Object.values(spaces)) space.follow(jobs);
      const analyzed = jobs.find((j) => j.kind === "analyze" && j.state === "done");
      spaces.analyze.showPlot(analyzed);
    }

    // Rebuild a job's row only when its state or files change, so keyboard focus is not lost to a poll.
    update(li, job) {
      const shape = JSON.stringify([job.state, job.outputs, job.error, job.summary]);
      if (li.dataset.shape !== shape) {
        li.dataset.shape = shape;
        li.dataset.state = job.state;
        li.replaceChildren(...this.row(job));
      }
      const bar = $("progress", li);
      if (bar) {
        const p = job.progress || {};
        const share = p.total ? Math.min(1, p.done / p.total) : null;
        if (share === null) bar.removeAttribute("value"); else bar.value = share;
        const parts = [p.stage || "starting"];
        if (share !== null) parts.push(`${Math.round(share * 100)}%`);
        if (p.fps) parts.push(`${p.fps.toFixed(1)} frames/s`);
        if (p.eta !== null && p.eta !== undefined && share !== null) parts.push(`${seconds(p.eta)} left`);
        $("[data-progress-text]", li).textContent = parts.join(" · ");
      }
    }

    row(job) {
      const head = el("div", { class: "kind" }, document.createTextNode(job.kind),
        el("span", { class: `badge ${job.state}`, text: job.state }),
        el("span", { class: "when", text: when(job.created) }));
      const about = el("div", { class: "about" }, el("div", { class: "inputs", text: describe(job), title: describe(job) }));
      if (job.state === "running") {
        about.append(el("progress", { max: "1", "aria-label": `Progress of ${job.kind} job` }),
          el("div", { class: "line", "data-progress-text": "" }));
      } else if (job.state === "failed") {
        about.append(el("div", { class: "line error", text: job.error || "failed" }));
      } else if (job.summary) {
        about.append(el("div", { class: "line", text: job.summary }));
      } else if (job.state === "queued") {
        about.append(el("div", { class: "line", text: "waiting for the jobs before it" }));
      }
      const actions = el("div", { class: "actions" });
      const file = (o) => `/api/jobs/${job.id}/files/${o.name}`;
      if (job.state === "done") {
        for (const [role, text, download] of ROLE_ACTIONS) {
          const o = job.outputs.find((x) => x.role === role);
          if (!o) continue;
          actions.append(el("a", { href: download ? `${file(o)}?download=1` : file(o), class: role === "output" ? "main" : "",
            target: download ? null : "_blank", rel: "noopener", download: download ? "" : null, text }));
          if (role === "output") actions.append(el("a", { href: file(o), target: "_blank", rel: "noopener", text: "Open" }));
        }
      }
      if (job.state === "queued" || job.state === "running") {
        actions.append(el("button", { type: "button", class: "small", text: "Cancel", onclick: () => this.act(job, "cancel") }));
      }
      if (job.state === "failed" || job.state === "cancelled") {
        actions.append(el("button", { type: "button", class: "small", text: "Retry", onclick: () => this.act(job, "retry") }));
      }
      if (job.state !== "running") actions.append(this.deleteButton(job));
      const parts = [head, about, actions];
      const plot = job.outputs.find((o) => o.role === "plot");
      if (plot) {
        parts.push(el("details", { class: "extra" }, el("summary", { text: "Pose and expression plot" }),
          el("img", { src: file(plot), alt: `Pose and expression over time, job ${job.id.slice(1, 9)}`, loading: "lazy" })));
      }
      return parts;
    }

    // Deleting asks once more in place (no pop-up dialog): the first press arms the button.
    deleteButton(job) {
      const button = el("button", { type: "button", class: "small quiet", text: "Delete" });
      button.addEventListener("click", () => {
        if (button.dataset.armed) { this.remove(job); return; }
        button.dataset.armed = "1";
        button.textContent = "Delete: sure?";
        setTimeout(() => { delete button.dataset.armed; button.textContent = "Delete"; }, 4000);
      });
      return button;
    }

    async act(job, action) {
      try { await request("POST", `/api/jobs/${job.id}/${action}`); } catch (err) { showBanner(err.message); }
      this.refresh();
    }

    async remove(job) {
      try { await request("DELETE", `/api/jobs/${job.id}`); } catch (err) { showBanner(err.message); }
      this.refresh();
    }
  }

  function when(epoch) {
    const date = new Date(epoch * 1000);
    const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return date.toDateString() === new Date().toDateString() ? `today ${time}`
      : `${date.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
  }

  function describe(job) {
    const names = (role) => job.inputs.filter((i) => i.role === role).map((i) => i.label).join(", ");
    if (job.kind === "swap") return `${names("source")} → ${names("target")}`;
    if (job.kind === "reenact") return `${names("portrait")} moved by ${names("driver")}`;
    return names("input");
  }

  // ---------------------------------------------------------------- start
  const spaces = {
    swap: new SwapSpace($("#panel-swap")),
    reenact: new ReenactSpace($("#panel-reenact")),
    analyze: new AnalyzeSpace($("#panel-analyze")),
    live: new LiveSpace($("#panel-live")),
  };
  const jobs = new Jobs($("#jobs"));

  async function start() {
    setupVerify();
    try {
      info = await request("GET", "/api/info");
      await Promise.all(Object.values(spaces).map((s) => s.load()));
    } catch (err) {
      showBanner(`Could not load the workspace: ${err.message}`);
    }
    spaces.live.setup();
    spaces.swap.changed();
    const wanted = tabs.find((t) => `#${t.id.slice(4)}` === location.hash);
    if (wanted) selectTab(wanted, false);
    jobs.refresh();
    document.body.dataset.ready = "1"; // tests wait for this
  }
  start();
})();
