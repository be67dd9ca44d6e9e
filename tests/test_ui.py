"""`facegraft ui`: the HTTP API's guards and job queue, and the real page in a real browser."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from cli_helpers import assert_one_line_error, faststart_copy, run_cli
from facegraft import samples
from facegraft.io import VideoReader, VideoWriter, read_image, write_image
from facegraft.provenance.verify import verify
from facegraft.provenance.watermark import Z_MIN, Payload, embed
from facegraft.ui.jobs import Job
from ui_helpers import CHROMIUM, CHROMIUM_ARGS, Client, assert_one_line, running_server, wait_until

SOURCE = "single_face.jpg"
IMAGE_TARGET = "astronaut.png"
VIDEO = "single_face.mp4"  # 640x360, 72 frames: strong enough a mark to verify
LONG_VIDEO = "face_noface.mov"  # 169 frames at 960x540: an analysis that lasts long enough to cancel
CONSENT = {"consent": True, "preset": "fast", "report": False}


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path / "data") as srv:
        yield srv


@pytest.fixture
def client(server) -> Client:
    return Client(server)


def swap_draft(client: Client, target: str = IMAGE_TARGET) -> str:
    draft = client.draft("swap")["id"]
    assert client.upload(draft, "source", samples.path(SOURCE)).status == 200
    assert client.upload(draft, "target", samples.path(target)).status == 200
    return draft


def folder(server, job_id: str) -> Path:
    return server.app.store.folder(job_id)


# -------------------------------------------------------------------------- uploads


def test_upload_is_checked_by_content_not_by_name(client, server, tmp_path):
    draft = client.draft("swap")["id"]
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is a text file, not a photo\n")
    reply = client.upload(draft, "target", fake)
    assert reply.status == 415
    assert_one_line(reply.error)
    assert reply.error.startswith("holiday.jpg: ") and "not a readable image or video" in reply.error
    assert list((folder(server, draft) / "inputs").iterdir()) == []  # nothing kept
    # A real image under a video's name is accepted, and stored by what it is.
    photo = tmp_path / "clip.mp4"
    photo.write_bytes(samples.path(SOURCE).read_bytes())
    job = client.upload(draft, "source", photo).json()
    assert [(i["name"], i["label"], i["kind"]) for i in job["inputs"]] == [("source-1.jpg", "clip.mp4", "image")]
    # A video where only photos go is refused, saying what it is.
    reply = client.upload(draft, "source", samples.path(VIDEO))
    assert reply.status == 415 and "this file is a video" in reply.error


def test_oversize_upload_is_refused(tmp_path):
    with running_server(tmp_path / "data", max_upload_bytes=10_000) as srv:
        client = Client(srv)
        draft = client.draft("swap")["id"]
        reply = client.upload(draft, "target", samples.path(IMAGE_TARGET))
        assert reply.status == 413 and "limit" in reply.error
        assert list((folder(srv, draft) / "inputs").iterdir()) == []


def test_request_text_never_becomes_a_path(client, server):
    draft = client.draft("swap")["id"]
    job = client.upload(draft, "source", samples.path(SOURCE), name="../../../etc/passwd").json()
    assert job["inputs"][0]["name"] == "source-1.jpg" and job["inputs"][0]["label"] == "passwd"
    bad = [f"/api/jobs/{draft}/files/..%2Fjob.json", f"/api/jobs/{draft}/files/job.json",
           f"/api/jobs/{draft}/files/../job.json", "/api/jobs/..%2F..%2Fetc/files/passwd",
           "/api/jobs/jzzzzzzzzzzzzzzzz", f"/api/jobs/{draft}/frame?name=../job.json&t=0",
           f"/api/jobs/{draft}/frame?name=%2Fetc%2Fpasswd&t=0", "/static/../jobs.py", "/static/server.py"]
    for path in bad:
        reply = client.get(path)
        assert reply.status == 404, path
        assert_one_line(reply.error)
    # Files a job lists are served: the upload, by its stored name.
    assert client.get(f"/api/jobs/{draft}/files/source-1.jpg").body == samples.path(SOURCE).read_bytes()


def test_unknown_role_and_kind_are_refused(client):
    draft = client.draft("swap")["id"]
    assert client.upload(draft, "portrait", samples.path(SOURCE)).status == 400
    assert client.get("/api/drafts/nonsense").status == 404


# -------------------------------------------------------------------------- guards


def test_host_header_must_name_this_server(client, server):
    assert client.get("/api/info", headers={"Host": f"evil.example:{server.port}"}).status == 403
    assert client.get("/", headers={"Host": f"127.0.0.1.evil.example:{server.port}"}).status == 403
    assert client.get("/api/info", headers={"Host": f"localhost:{server.port}"}).status == 200
    assert client.get("/", headers={"Host": f"127.0.0.1:{server.port}"}).status == 200


def test_changing_requests_need_the_page_header(client):
    reply = client.post("/api/drafts/swap/reset", page_header=False)
    assert reply.status == 403 and "X-Facegraft" in reply.error
    reply = client.post("/api/drafts/swap/reset", headers={"Origin": "http://evil.example"})
    assert reply.status == 403


def test_swap_and_preview_need_consent(client):
    draft = swap_draft(client)
    for path, body in ((f"/api/jobs/{draft}/preview", {"settings": {"preset": "fast"}, "time": 0}),
                       (f"/api/jobs/{draft}/submit", {"settings": {"preset": "fast"}}),
                       (f"/api/jobs/{draft}/submit", {"settings": {"consent": "yes"}})):
        reply = client.post(path, body)
        assert reply.status == 400 and reply.error.startswith("consent is required"), reply.body
    reenact = client.draft("reenact")["id"]
    client.upload(reenact, "portrait", samples.path(SOURCE))
    client.upload(reenact, "driver", samples.path(VIDEO))
    reply = client.post(f"/api/jobs/{reenact}/submit", {"settings": {}})
    assert reply.status == 400 and "consent" in reply.error
    assert client.get("/api/jobs").json()["jobs"] == []  # nothing was queued


def test_bad_settings_are_one_line_400s(client):
    draft = swap_draft(client)
    for settings, word in (({**CONSENT, "shape_transfer": 3}, "shape_transfer"), ({**CONSENT, "colour": 1}, "colour"),
                           ({**CONSENT, "blend": "smudge"}, "blend"), ({**CONSENT, "label_text": ""}, "label_text"),
                           ({**CONSENT, "faces": "reference"}, "click at least one face")):
        reply = client.post(f"/api/jobs/{draft}/submit", {"settings": settings})
        assert reply.status == 400 and word in reply.error, reply.body
        assert_one_line(reply.error)


def test_preview_is_quick_and_follows_the_settings(client):
    draft = swap_draft(client, VIDEO)
    first = client.post(f"/api/jobs/{draft}/preview", {"settings": CONSENT, "time": 1.0})
    assert first.status == 200 and first.headers["Content-Type"] == "image/jpeg"
    other = client.post(f"/api/jobs/{draft}/preview", {"settings": {**CONSENT, "detail": 0.0}, "time": 1.0})
    assert other.status == 200 and other.body != first.body
    # With the source profile and the frame's faces kept, a settings change is well under a second.
    assert float(other.headers["X-Preview-Ms"]) < 1000
    faces = client.get(f"/api/jobs/{draft}/faces?name=target.mp4&t=1.0").json()
    assert (faces["width"], faces["height"]) == (640, 360) and len(faces["faces"]) == 1


# -------------------------------------------------------------------------- jobs


def test_cancel_retry_and_delete(client, server):
    draft = client.draft("analyze")["id"]
    assert client.upload(draft, "input", samples.path(LONG_VIDEO)).status == 200
    job = client.post(f"/api/jobs/{draft}/submit", {"settings": {"format": "csv"}}).json()
    assert job["state"] == "queued" and job["id"] != draft
    client.wait_for(job["id"], ("running",), also=lambda j: j["progress"].get("done", 0) >= 1)
    assert client.call("DELETE", f"/api/jobs/{job['id']}").status == 409  # running: cancel first
    assert client.post(f"/api/jobs/{job['id']}/cancel").status == 200
    cancelled = client.wait_for(job["id"], ("cancelled",))
    assert cancelled["outputs"] == [] and list((folder(server, job["id"]) / "outputs").iterdir()) == []
    retried = client.post(f"/api/jobs/{job['id']}/retry").json()
    assert retried["state"] == "queued" and retried["error"] is None
    client.wait_for(job["id"], ("running",))
    client.post(f"/api/jobs/{job['id']}/cancel")
    client.wait_for(job["id"], ("cancelled",))
    assert client.post(f"/api/jobs/{job['id']}/cancel").status == 409  # already cancelled
    assert client.call("DELETE", f"/api/jobs/{job['id']}").status == 200
    assert not folder(server, job["id"]).exists()
    assert client.get(f"/api/jobs/{job['id']}").status == 404
    assert (folder(server, draft) / "inputs").is_dir()  # the draft keeps its own copy of the upload


def test_faceless_source_is_refused_at_submit_as_the_preview_says(client, server, tmp_path):
    with VideoReader(samples.path("no_face.mp4")) as reader:
        faceless = write_image(tmp_path / "empty_room.png", next(iter(reader)).rgb)
    draft = client.draft("swap")["id"]
    client.upload(draft, "source", faceless)
    client.upload(draft, "target", samples.path(IMAGE_TARGET))
    preview = client.post(f"/api/jobs/{draft}/preview", {"settings": CONSENT, "time": 0})
    refused = client.post(f"/api/jobs/{draft}/submit", {"settings": CONSENT})
    assert preview.status == refused.status == 400
    said = refused.json()["error"]
    assert_one_line(said)
    assert "empty_room.png" in said and "no face" in said and str(server.app.config.data_dir) not in said
    assert said == preview.json()["error"]
    assert [j for j in client.get("/api/jobs").json()["jobs"]] == []  # nothing was queued
    assert client.draft("swap")["id"] == draft  # the draft stays, for another photo


def test_faceless_target_gets_a_notice_when_it_arrives(client):
    draft = client.draft("swap")["id"]
    job = client.upload(draft, "target", samples.path("no_face.mp4")).json()
    notice = job["inputs"][0]["notice"]
    assert notice.startswith("no face found in 5 frames sampled across it") and "unchanged" in notice
    job = client.upload(draft, "target", samples.path(VIDEO)).json()
    assert job["inputs"][0].get("notice", "") == ""  # a target with a face: nothing to say
    assert job["inputs"][0]["frames"] == 72
    faceless = client.upload(draft, "target", samples.path("no_face.mp4")).json()["inputs"][0]
    # The page's frame count is the one every command uses: the header says 98, 95 are shown.
    assert faceless["frames"] == 95
    analyze = client.draft("analyze")["id"]
    said = client.upload(analyze, "input", samples.path("no_face.mp4")).json()["inputs"][0]["notice"]
    assert said.endswith("the motion file will be empty")


def test_failed_job_keeps_a_one_line_error_naming_the_users_file(client, server, tmp_path):
    cut = tmp_path / "cut.mp4"
    data = faststart_copy(VIDEO, tmp_path / "whole.mp4").read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # the header and first frames are whole: the upload is taken
    draft = client.draft("swap")["id"]
    client.upload(draft, "source", samples.path(SOURCE))
    assert client.upload(draft, "target", cut, name="holiday clip.mp4").status == 200
    job = client.post(f"/api/jobs/{draft}/submit", {"settings": CONSENT}).json()
    failed = client.wait_for(job["id"], ("failed",))
    assert_one_line(failed["error"])
    assert "holiday clip.mp4" in failed["error"] and "truncated" in failed["error"]
    assert str(server.app.config.data_dir) not in failed["error"]


def test_analyze_job_writes_motion_and_plot(client):
    draft = client.draft("analyze")["id"]
    client.upload(draft, "input", samples.path(SOURCE))
    preview = client.post(f"/api/jobs/{draft}/preview", {"settings": {}, "time": 0})
    assert preview.status == 200 and preview.headers["Content-Type"] == "image/jpeg"
    job = client.post(f"/api/jobs/{draft}/submit", {"settings": {"format": "jsonl"}}).json()
    done = client.wait_for(job["id"], ("done",))
    roles = {o["role"]: o["name"] for o in done["outputs"]}
    assert roles == {"motion": "motion.jsonl", "plot": "plot.png"}
    record = json.loads(client.get(f"/api/jobs/{job['id']}/files/motion.jsonl").body.splitlines()[0])
    assert record["frame"] == 0 and "yaw" in record["pose"]
    assert client.get(f"/api/jobs/{job['id']}/files/plot.png").body.startswith(b"\x89PNG")


def short_clip(path: Path, frames: int = 15) -> Path:
    """The first half second of the sample video: a real driver, quick to reenact."""
    with VideoReader(samples.path(VIDEO)) as reader, \
            VideoWriter(path, reader.info.width, reader.info.height, reader.info.fps) as writer:
        for frame in reader:
            if frame.index >= frames:
                break
            writer.write(frame.rgb, frame.time)
    return path


def test_reenact_preview_and_job(client, tmp_path):
    draft = client.draft("reenact")["id"]
    client.upload(draft, "portrait", samples.path(IMAGE_TARGET))
    assert client.upload(draft, "driver", short_clip(tmp_path / "driver.mp4")).status == 200
    settings = {"consent": True, "label_text": "Synthetic"}
    assert "consent" in client.post(f"/api/jobs/{draft}/preview", {"settings": {}, "time": 0.2}).error
    first = client.post(f"/api/jobs/{draft}/preview", {"settings": settings, "time": 0.2})
    assert first.status == 200 and first.headers["Content-Type"] == "image/jpeg"
    again = client.post(f"/api/jobs/{draft}/preview", {"settings": settings, "time": 0.4})
    assert float(again.headers["X-Preview-Ms"]) < 1000  # the portrait and the driver's neutral frame are kept
    job = client.post(f"/api/jobs/{draft}/submit", {"settings": settings}).json()
    done = client.wait_for(job["id"], ("done",))
    assert done["outputs"][0]["name"] == "reenact.mp4" and "reenacted 15 frames" in done["summary"]
    out = tmp_path / "reenact.mp4"
    out.write_bytes(client.get(f"/api/jobs/{job['id']}/files/reenact.mp4?download=1").body)
    assert verify(out).found


def test_verify_endpoint(client, tmp_path):
    reply = client.call("PUT", "/api/verify?name=plain.jpg", data=samples.path(SOURCE).read_bytes())
    assert reply.status == 200 and reply.json()["found"] is False
    marked = tmp_path / "marked.png"
    write_image(marked, embed(read_image(samples.path(SOURCE)), Payload(0x01, 0xBEEF), still=True))
    found = client.call("PUT", "/api/verify?name=marked.png", data=marked.read_bytes()).json()
    assert found["found"] and found["run"] == "beef" and found["threshold"] == Z_MIN <= found["score"]
    text = tmp_path / "x.png"
    text.write_text("nope")
    reply = client.call("PUT", "/api/verify?name=x.png", data=text.read_bytes())
    assert reply.status == 415 and reply.error.startswith("x.png: ")


def test_file_ranges_for_video_players(client, server):
    draft = client.draft("swap")["id"]
    client.upload(draft, "target", samples.path(VIDEO))
    data = samples.path(VIDEO).read_bytes()
    reply = client.get(f"/api/jobs/{draft}/files/target.mp4", headers={"Range": "bytes=100-199"})
    assert reply.status == 206 and reply.body == data[100:200]
    assert reply.headers["Content-Range"] == f"bytes 100-199/{len(data)}"


def test_live_session_streams_mjpeg_with_stats(client):
    draft = client.draft("live")["id"]
    client.upload(draft, "source", samples.path(SOURCE))
    client.upload(draft, "live", samples.path(VIDEO), name="clip.mp4")
    start = {"settings": {"preset": "fast"}, "input": {"type": "file"}}
    assert "consent" in client.post("/api/live/start", start).error
    assert client.post("/api/live/start", {**start, "input": {"type": "camera", "value": "../x"}}).status == 400
    started = client.post("/api/live/start", {**start, "settings": {"preset": "fast", "consent": True}})
    assert started.status == 200 and started.json()["input"] == "clip.mp4"
    try:
        stats = wait_until(lambda: (lambda s: s if s.get("frames", 0) >= 5 else None)(
            client.get("/api/live/stats").json()), 60, "live frames")
        assert stats["state"] == "running" and stats["latency_ms"] > 0 and (stats["width"], stats["height"]) == (640, 360)  # 16:9 kept, no bars
        assert client.post("/api/live/start", start).status in (400, 409)  # one session at a time
        request = urllib.request.Request(client.base + "/api/live/stream")
        with urllib.request.urlopen(request, timeout=30) as stream:
            assert stream.headers["Content-Type"].startswith("multipart/x-mixed-replace")
            part = stream.read(64 * 1024)
        assert part.startswith(b"--facegraftframe\r\nContent-Type: image/jpeg") and b"\xff\xd8" in part
    finally:
        stopped = client.post("/api/live/stop").json()
    assert stopped["state"] == "stopped" and stopped["error"] is None
    # Publishing to a virtual camera that is not there ends the session with a one-line reason.
    consent = {**start, "settings": {"preset": "fast", "consent": True}}
    assert client.post("/api/live/start", {**consent, "virtual_camera": "/tmp/x"}).status == 400
    assert client.post("/api/live/start", {**consent, "virtual_camera": "/dev/video99"}).status == 200
    failed = wait_until(lambda: (lambda s: s if s["state"] == "failed" else None)(client.get("/api/live/stats").json()),
                        30, "the live session to fail")
    assert failed["error"].startswith("/dev/video99: no such device")
    assert_one_line(failed["error"])


def test_cli_busy_port_is_one_line(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run_cli(capsys, "ui", "--port", port, "--data-dir", tmp_path)
    line = assert_one_line_error(code, err)
    assert f"127.0.0.1:{port}" in line and "--port" in line


# -------------------------------------------------------------------------- the page in a browser


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "the UI tests need Debian's Chromium: run `make browser` (apt-get install chromium)"
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 860}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


def open_page(page, server) -> None:
    page.goto(f"http://127.0.0.1:{server.port}/")
    page.wait_for_selector("body[data-ready]")


def add_swap_inputs(page, target: str) -> None:
    page.set_input_files("#panel-swap .drop[data-role=source] input", str(samples.path(SOURCE)))
    page.wait_for_selector("#panel-swap [data-files=source] li")
    page.set_input_files("#panel-swap .drop[data-role=target] input", str(samples.path(target)))
    page.wait_for_selector("#panel-swap [data-files=target] li")


def preview_digest(page) -> tuple[int, str]:
    """The preview's serial number and a hash of the image bytes it shows."""
    return page.evaluate("""async () => {
        const img = document.querySelector('#panel-swap [data-preview-img]');
        await img.decode();
        const canvas = document.createElement('canvas');
        [canvas.width, canvas.height] = [img.naturalWidth, img.naturalHeight];
        const context = canvas.getContext('2d');
        context.drawImage(img, 0, 0);
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
        const hash = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', pixels)));
        return [Number(img.dataset.serial), hash.map((b) => b.toString(16).padStart(2, '0')).join('')];
    }""")


def wait_for_preview_after(page, serial: int) -> None:
    page.wait_for_function(
        "(serial) => Number(document.querySelector('#panel-swap [data-preview-img]').dataset.serial || 0) > serial",
        arg=serial, timeout=30_000)


def job_row(page, state: str, nth: int = 0):
    row = page.locator(f"#jobs li.job[data-state={state}]").nth(nth)
    row.wait_for(timeout=120_000)
    return row


def download_and_verify(page, row, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        row.get_by_role("link", name="Download").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    verdict = verify(saved)
    assert verdict.found, f"no watermark in {saved.name}"
    return saved


def test_swap_in_the_browser(page, server, tmp_path):
    open_page(page, server)
    add_swap_inputs(page, IMAGE_TARGET)
    assert page.locator("#panel-swap [data-preview-img]").is_hidden()  # no preview before consent
    page.get_by_label("Everyone whose face is used agreed to it.").first.check()
    wait_for_preview_after(page, 0)
    serial, before = preview_digest(page)
    page.get_by_label("Skin detail").focus()
    page.keyboard.press("Home")  # a real key press on the slider: detail 0
    wait_for_preview_after(page, serial)
    assert preview_digest(page)[1] != before, "the preview did not change with the setting"
    assert page.locator("#panel-swap [data-took]").inner_text().endswith("ms")
    page.get_by_role("button", name="Run swap").click()
    row = job_row(page, "done")
    status = page.locator("#panel-swap [data-status]")
    page.wait_for_function("() => document.querySelector('#panel-swap [data-status]').textContent.includes('finished')",
                           timeout=10_000)
    assert "finished: swapped 1 face" in status.inner_text()  # not "Queued as job …" any more
    saved = download_and_verify(page, row, tmp_path)
    assert saved.suffix == ".png"
    report = row.get_by_role("link", name="Evaluation report").get_attribute("href")
    reply = Client(server).get(report)
    assert reply.status == 200 and b"facegraft evaluation" in reply.body
    # The report names the files as the user dropped them, never where the server keeps them.
    assert SOURCE.encode() in reply.body and IMAGE_TARGET.encode() in reply.body
    assert b"/jobs/" not in reply.body and str(tmp_path).encode() not in reply.body


def test_faceless_target_is_pointed_out_on_the_page(page, server):
    open_page(page, server)
    page.set_input_files("#panel-swap .drop[data-role=target] input", str(samples.path("no_face.mp4")))
    notice = page.locator("#panel-swap [data-files=target] li .notice")
    notice.wait_for(timeout=30_000)
    assert notice.inner_text().startswith("no face found in 5 frames sampled across it")
    assert "95 frames" in page.locator("#panel-swap [data-files=target] li .facts").inner_text()
    assert "no face found" in page.locator("#panel-swap [data-status]").inner_text()


def test_queue_survives_a_restart(browser, tmp_path):
    data = tmp_path / "data"
    with running_server(data) as first:
        page = browser.new_page(viewport={"width": 1366, "height": 860}, accept_downloads=True)
        open_page(page, first)
        add_swap_inputs(page, IMAGE_TARGET)
        page.get_by_label("Everyone whose face is used agreed to it.").first.check()
        page.get_by_label("Write an evaluation report").uncheck()
        page.get_by_label("Preset").first.select_option("fast")
        page.get_by_role("button", name="Run swap").click()
        job_row(page, "done")
        # A video job, cut short by the restart, and an image job queued behind it.
        def job_states(jobs):
            return sorted(j.state for j in jobs if j.state != "draft")
        store = first.app.store
        for count, target in enumerate((VIDEO, IMAGE_TARGET), 2):
            page.set_input_files("#panel-swap .drop[data-role=target] input", str(samples.path(target)))
            page.wait_for_selector(f"#panel-swap [data-files=target] li >> text={target}")
            page.get_by_role("button", name="Run swap").click()
            wait_until(lambda: len(job_states(store.all())) == count, 30, f"job {count} to be queued")
        wait_until(lambda: job_states(store.all()) == ["done", "queued", "running"], 30,
                   "the video job to run with the image job queued behind it", every=0.02)
        page.close()
    on_disk = [Job.from_json(json.loads(p.read_text())) for p in (data / "jobs").glob("*/job.json")]
    assert job_states(on_disk) == ["done", "queued", "queued"]  # the running job went back to the queue

    with running_server(data) as second:
        page = browser.new_page(viewport={"width": 1366, "height": 860}, accept_downloads=True)
        open_page(page, second)
        # The draft's uploads are still there, and so is every job.
        assert page.locator("#panel-swap [data-files=source] li").count() == 1
        wait_until(lambda: page.locator("#jobs li.job[data-state=done]").count() == 3, 180,
                   "the queued jobs to finish after the restart", every=0.5)
        suffixes = []
        for index in range(3):
            (tmp_path / str(index)).mkdir()
            suffixes.append(download_and_verify(page, page.locator("#jobs li.job").nth(index), tmp_path / str(index)).suffix)
        assert sorted(suffixes) == [".mp4", ".png", ".png"]
        page.close()


def test_live_tab_shows_the_stream_and_its_latency(page, server):
    open_page(page, server)
    page.get_by_role("tab", name="Live").click()
    panel = page.locator("#panel-live")
    panel.locator(".drop[data-role=source] input").set_input_files(str(samples.path(SOURCE)))
    panel.locator("[data-files=source] li").wait_for()
    panel.get_by_label("A video file played as live").check()
    panel.locator(".drop[data-role=live] input").set_input_files(str(samples.path(VIDEO)))
    panel.locator("[data-files=live] li").wait_for()
    panel.get_by_label("Everyone whose face is used agreed to it.").check()
    panel.get_by_role("button", name="Start live swap").click()
    page.wait_for_function("() => document.querySelector('[data-live-img]').naturalWidth === 640", timeout=60_000)
    page.wait_for_function("() => /\\d ms$/.test(document.querySelector('[data-stat=latency_ms]').textContent)")
    panel.get_by_role("button", name="Stop").click()
    panel.locator("[data-status]", has_text="Stopped.").wait_for(timeout=30_000)


def test_screens_read_well(page, server, tmp_path):
    """Each tab renders without overflow at a laptop size; screenshots go to /tmp/ui-shots for a look."""
    shots = Path("/tmp/ui-shots")
    shots.mkdir(exist_ok=True)
    open_page(page, server)
    add_swap_inputs(page, VIDEO)
    page.get_by_label("Everyone whose face is used agreed to it.").first.check()
    page.get_by_label("Faces I pick").check()
    page.locator("#panel-swap [data-faces] button").first.click()
    wait_for_preview_after(page, 0)
    page.get_by_role("tab", name="Analyze").click()
    page.locator("#panel-analyze .drop[data-role=input] input").set_input_files(str(samples.path(SOURCE)))
    page.get_by_role("button", name="Export motion").click()
    page.locator("#panel-analyze [data-plot] img").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Reenact").click()
    page.locator("#panel-reenact .drop[data-role=portrait] input").set_input_files(str(samples.path(IMAGE_TARGET)))
    page.locator("#panel-reenact .drop[data-role=driver] input").set_input_files(str(samples.path(VIDEO)))
    page.locator("#panel-reenact [data-files=driver] li").wait_for()
    page.get_by_role("tab", name="Verify").click()
    page.locator("#panel-verify .drop input").set_input_files(str(samples.path(SOURCE)))
    page.locator("#panel-verify .answer").wait_for(timeout=30_000)
    assert "No facegraft watermark found" in page.locator("#panel-verify [data-verdict]").inner_text()
    marked = tmp_path / "marked.png"
    write_image(marked, embed(read_image(samples.path(SOURCE)), Payload(0x01, 0xBEEF), still=True))
    page.locator("#panel-verify .drop input").set_input_files(str(marked))
    page.locator("#panel-verify [data-verdict].yes").wait_for(timeout=30_000)
    answer = page.locator("#panel-verify [data-verdict]").inner_text()
    assert "Made by facegraft" in answer and "run beef" in answer and "evidence score" in answer
    for tab in ("swap", "reenact", "analyze", "verify", "live"):
        page.get_by_role("tab", name=tab.capitalize()).click()
        assert page.locator(f"#panel-{tab}").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, f"the {tab} tab overflows sideways ({width} px)"
        page.screenshot(path=str(shots / f"{tab}.png"))
    # Keyboard: the tabs move with the arrow keys, and every control has a name.
    page.get_by_role("tab", name="Live").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-swap"
    unnamed = page.evaluate("""() => [...document.querySelectorAll('input, select, button')]
        .filter((e) => !e.closest('[hidden]') && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                       && !e.textContent.trim())
        .map((e) => e.outerHTML.slice(0, 80))""")
    assert unnamed == []
