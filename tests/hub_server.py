"""
A Hub-compatible HTTP endpoint on 127.0.0.1 for the push tests. It is a test fixture, not part of `hf_rnn`.

The real `huggingface_hub` client talks to it over HTTP when `HF_ENDPOINT` points at `HubServer.url`. Model repos
are kept in memory, every commit as a full snapshot. Only the routes that `create_repo`, `create_branch`,
`upload_folder` (`create_commit`), `model_info` and `hf_hub_download` (as `from_pretrained` uses it) call are
implemented:

    POST       /api/repos/create                          create a repo with a `.gitattributes` commit, as the Hub
                                                          does (409 with its `url` if it exists)
    POST       /api/validate-yaml                         parse the YAML header of a README.md (400 if invalid)
    POST       /api/models/{repo}/preupload/{rev}         answer `uploadMode: "regular"` for every file, so the
                                                          client sends contents base64-encoded in the commit (no
                                                          LFS, no Xet)
    POST       /api/models/{repo}/commit/{rev}            apply an NDJSON commit (`file` base64, `deletedFile`;
                                                          `lfsFile` is refused with 400)
    POST       /api/models/{repo}/branch/{branch}         create a branch at the head of main (409 if it exists)
    GET        /api/models/{repo}[/revision/{rev}]        model info: `id`, `sha`, `private`, `siblings`
    GET        /api/models/{repo}/tree/{rev}[/{path}]     list a folder (`?recursive=true`: everything below it)
    HEAD, GET  /{repo}/resolve/{rev}/{path}               file metadata (`X-Repo-Commit`, `ETag`,
                                                          `Content-Length`) and content
    GET        /api/agent-harnesses                       an empty registry (the client fetches it to build its
                                                          user agent before its first request of the day)

Spaces (`repo_type="space"`, created with `"type": "space"` and an `sdk`) have the same routes under `/api/spaces/`
and `/spaces/{repo}/resolve/`; they are kept in `repos` under `spaces/{repo}` (`HubServer.files("spaces/USER/NAME")`).

Errors carry the Hub's `X-Error-Code` header (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`) so the client
raises its usual exceptions. Write routes without an `Authorization: Bearer` header get 401; repos in a namespace
listed in `refused_namespaces` get 403. Any other route gets 404 and is recorded in `unhandled`; every request is
recorded in `requests` as `(method, path)`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

GITATTRIBUTES = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


def blob_id(content: bytes) -> str:
    """The git blob id of `content` (what the Hub sends as the ETag of a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Repo:
    """A model repo: commits as full snapshots `{path: bytes}` with their messages, branches pointing at commit ids."""

    private: bool
    sdk: str | None = None  # Spaces only
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def commit(self, branch: str, files: dict[str, bytes], message: str) -> str:
        parent = self.branches.get(branch, "")
        listing = json.dumps([parent, message, sorted((path, blob_id(data)) for path, data in files.items())])
        oid = hashlib.sha1(listing.encode()).hexdigest()
        self.commits[oid] = dict(files)
        self.messages[oid] = message
        self.branches[branch] = oid
        return oid

    def resolve(self, revision: str) -> str | None:
        """The commit id of a branch name or commit id, or `None`."""
        return self.branches.get(revision) or (revision if revision in self.commits else None)


class HubServer:
    """The endpoint, served from a daemon thread; use as a context manager. `url` is the value for `HF_ENDPOINT`."""

    def __init__(self, refused_namespaces: tuple[str, ...] = ("refused",), user: str = "user"):
        self.refused_namespaces = refused_namespaces
        self.user = user
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files of `repo_id` at `revision`."""
        repo = self.repos[repo_id]
        return repo.commits[repo.resolve(revision)]


class _Error(Exception):
    def __init__(self, status: int, code: str | None = None, message: str = "", **body: str):
        super().__init__(message)
        self.status, self.code, self.message, self.body = status, code, message, body


def _handler_for(server: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # keep test output quiet
            pass

        def do_HEAD(self) -> None:
            self._dispatch("HEAD")

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        # -- plumbing ------------------------------------------------------------------------------------------

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            path, self.query = url.path, parse_qs(url.query)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with server.lock:
                server.requests.append((method, path))
                try:
                    status, headers, payload = self._route(
                        method, [unquote(part) for part in path.split("/")[1:]], body
                    )
                except _Error as error:
                    headers = {"X-Error-Message": error.message}
                    if error.code:
                        headers["X-Error-Code"] = error.code
                    status, payload = error.status, json.dumps({"error": error.message, **error.body}).encode()
                    if error.status == 404 and error.code is None:
                        server.unhandled.append((method, path))
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(payload)

        def _require_token(self) -> None:
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                raise _Error(401, None, "Invalid credentials in Authorization header")

        @staticmethod
        def _repo(repo_id: str) -> Repo:
            if repo_id not in server.repos:
                raise _Error(404, "RepoNotFound", f"Repository {repo_id} not found")
            return server.repos[repo_id]

        def _route(self, method: str, parts: list[str], body: bytes) -> tuple[int, dict[str, str], bytes]:
            if method == "POST" and parts == ["api", "repos", "create"]:
                return self._create_repo(json.loads(body))
            if method == "GET" and parts == ["api", "agent-harnesses"]:
                return 200, {}, json.dumps({"standardEnvVars": [], "harnesses": {}}).encode()
            if method == "POST" and parts == ["api", "validate-yaml"]:
                return self._validate_yaml(json.loads(body))
            if len(parts) >= 4 and parts[:2] in (["api", "models"], ["api", "spaces"]):
                repo_id, rest = "/".join(parts[2:4]), parts[4:]
                if parts[1] == "spaces":
                    repo_id = f"spaces/{repo_id}"
                if method == "GET" and not rest:
                    return self._model_info(repo_id, "main")
                if method == "GET" and len(rest) == 2 and rest[0] == "revision":
                    return self._model_info(repo_id, rest[1])
                if method == "GET" and len(rest) >= 2 and rest[0] == "tree":
                    return self._tree(repo_id, rest[1], "/".join(rest[2:]))
                if method == "POST" and len(rest) == 2 and rest[0] == "preupload":
                    return self._preupload(repo_id, json.loads(body))
                if method == "POST" and len(rest) == 2 and rest[0] == "commit":
                    return self._commit(repo_id, rest[1], body)
                if method == "POST" and len(rest) == 2 and rest[0] == "branch":
                    return self._create_branch(repo_id, rest[1])
            if method in ("HEAD", "GET") and len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]))
            if method in ("HEAD", "GET") and len(parts) >= 6 and parts[0] == "spaces" and parts[3] == "resolve":
                return self._resolve("/".join(parts[:3]), parts[4], "/".join(parts[5:]))
            raise _Error(404, None, f"no route for {method} /{'/'.join(parts)}")

        # -- routes --------------------------------------------------------------------------------------------

        def _create_repo(self, payload: dict) -> tuple[int, dict[str, str], bytes]:
            self._require_token()
            repo_id = f"{payload.get('organization') or server.user}/{payload['name']}"
            kind = payload.get("type") or "model"
            if payload.get("organization") in server.refused_namespaces:
                raise _Error(403, None, f"You don't have the rights to create a {kind} under {repo_id}")
            if kind == "space" and not payload.get("sdk"):
                raise _Error(400, None, "A Space needs an sdk")
            url = f"{server.url}/{'spaces/' if kind == 'space' else ''}{repo_id}"
            key = f"spaces/{repo_id}" if kind == "space" else repo_id
            if key in server.repos:
                raise _Error(409, None, f"You already created this {kind} repo", url=url)
            repo = Repo(private=payload.get("visibility") == "private", sdk=payload.get("sdk"))
            repo.commit("main", {".gitattributes": GITATTRIBUTES}, "initial commit")
            server.repos[key] = repo
            return 200, {}, json.dumps({"url": url, "name": repo_id}).encode()

        @staticmethod
        def _validate_yaml(payload: dict) -> tuple[int, dict[str, str], bytes]:
            content = payload["content"]
            if content.startswith("---\n"):
                try:
                    yaml.safe_load(content[4 : content.index("\n---", 4)])
                except (ValueError, yaml.YAMLError) as error:
                    return 400, {}, json.dumps({"errors": [{"message": str(error)}], "warnings": []}).encode()
            return 200, {}, json.dumps({"errors": [], "warnings": []}).encode()

        def _model_info(self, repo_id: str, revision: str) -> tuple[int, dict[str, str], bytes]:
            repo = self._repo(repo_id)
            oid = repo.resolve(revision)
            if oid is None:
                raise _Error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            info = {
                "id": repo_id,
                "modelId": repo_id,
                "sha": oid,
                "private": repo.private,
                "siblings": [{"rfilename": path} for path in sorted(repo.commits[oid])],
            }
            return 200, {}, json.dumps(info).encode()

        def _tree(self, repo_id: str, revision: str, folder: str) -> tuple[int, dict[str, str], bytes]:
            repo = self._repo(repo_id)
            oid = repo.resolve(revision)
            if oid is None:
                raise _Error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
            below = {path: data for path, data in repo.commits[oid].items() if path.startswith(prefix)}
            if prefix and not below:
                raise _Error(404, "EntryNotFound", f"{folder} does not exist at {revision}")
            recursive = self.query.get("recursive") == ["true"]
            entries, folders = [], set()
            for path, data in sorted(below.items()):
                parts = path[len(prefix) :].split("/")
                for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
                    folders.add(prefix + "/".join(parts[:depth]))
                if recursive or len(parts) == 1:
                    entries.append({"type": "file", "path": path, "size": len(data), "oid": blob_id(data)})
            entries += [{"type": "directory", "path": path, "oid": blob_id(path.encode())} for path in sorted(folders)]
            return 200, {}, json.dumps(entries).encode()

        def _preupload(self, repo_id: str, payload: dict) -> tuple[int, dict[str, str], bytes]:
            self._require_token()
            self._repo(repo_id)
            files = [
                {"path": item["path"], "uploadMode": "regular", "shouldIgnore": False} for item in payload["files"]
            ]
            return 200, {}, json.dumps({"files": files}).encode()

        def _commit(self, repo_id: str, revision: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
            self._require_token()
            repo = self._repo(repo_id)
            if revision not in repo.branches:
                raise _Error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            files = dict(repo.commits[repo.branches[revision]])
            message = ""
            for line in body.splitlines():
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key == "header":
                    message = value["summary"]
                elif key == "file" and value.get("encoding") == "base64":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                else:
                    raise _Error(400, None, f"unsupported commit operation {key!r}")
            oid = repo.commit(revision, files, message)
            answer = {"commitUrl": f"{server.url}/{repo_id}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None}
            return 200, {}, json.dumps(answer).encode()

        def _create_branch(self, repo_id: str, branch: str) -> tuple[int, dict[str, str], bytes]:
            self._require_token()
            repo = self._repo(repo_id)
            if branch in repo.branches:
                raise _Error(409, None, f"Branch {branch} already exists")
            repo.branches[branch] = repo.branches["main"]
            return 200, {}, b"{}"

        def _resolve(self, repo_id: str, revision: str, path: str) -> tuple[int, dict[str, str], bytes]:
            repo = self._repo(repo_id)
            oid = repo.resolve(revision)
            if oid is None:
                raise _Error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            if path not in repo.commits[oid]:
                raise _Error(404, "EntryNotFound", f"{path} does not exist at {revision}")
            content = repo.commits[oid][path]
            headers = {
                "Content-Type": "application/octet-stream",
                "X-Repo-Commit": oid,
                "ETag": f'"{blob_id(content)}"',
            }
            return 200, headers, content

    return Handler
