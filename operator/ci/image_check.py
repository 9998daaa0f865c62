"""Proves the Dockerfile without a container engine (run by check-image.sh, with its venv's Python).

  context ROOT                        print the build context that .dockerignore leaves (one path a line)
  check ROOT WORK [--exec-from Y]... [--sources-only]
                                      assemble the context, check every COPY/ADD source, replay the stages
                                      with the local toolchain in WORK, check the final stage's entrypoint
                                      (and the container commands of the Kubernetes manifests Y) and run
                                      their --help as the image's USER; --sources-only stops after the
                                      context and the COPY/ADD sources (no RUN, nothing built)

The build context is what Docker sends: the files of the work tree (tracked, plus untracked ones that git does
not ignore) that .dockerignore does not exclude. Docker's ignore rules are reproduced from moby/patternmatcher
(what BuildKit uses) and tested in test_image_check.py; the Docker SDK for Python was not used because its
matcher checks a `**` pattern against only one parent directory, so it keeps `a/b/target/x` that Docker leaves
out under `**/target/`. The stages are replayed, not
interpreted: a stage's filesystem is a directory under WORK/stages/<stage> (an image path /src is
WORK/stages/<stage>/src); COPY copies there (keeping mtimes, as Docker does), WORKDIR sets the directory RUN
runs in. Only the RUN commands a Rust build needs are executed:
  cargo install cargo-chef --locked --version V   installs that cargo-chef into WORK/tools (not globally)
  rm -rf /usr/local/cargo/registry                skipped (it only trims the image layer)
  cargo chef ..., cargo build ...                 run as written, in the stage's working directory
Anything else fails with a message naming the instruction, so a changed Dockerfile cannot pass unchecked.
Between runs <workdir>/target of each stage is kept (like a cache mount), so cargo-chef's cooked dependencies
are reused; everything else of a stage is rebuilt from scratch every run.
"""

import argparse
import fnmatch
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import time

from dockerfile_parse import DockerfileParser

# What the runtime base images provide: shared libraries and the newest glibc symbol version. Both distroless
# debian12 images run Debian bookworm's glibc 2.36; cc adds libgcc_s, libgomp and libstdc++.
RUNTIME_BASES = {
    "gcr.io/distroless/cc-debian12": (
        (2, 36),
        {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "ld-linux-x86-64.so.2",
         "libgcc_s.so.1", "libgomp.so.1", "libstdc++.so.6", "libssl.so.3", "libcrypto.so.3"},
    ),
    "gcr.io/distroless/base-debian12": (
        (2, 36),
        {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "ld-linux-x86-64.so.2",
         "libssl.so.3", "libcrypto.so.3"},
    ),
}


class CheckError(Exception):
    pass


QUIET = False  # the unit tests turn the progress lines off


def log(message):
    if not QUIET:
        print(f"image: {message}", flush=True)


# --- build context --------------------------------------------------------------------------------------------

def dockerignore_patterns(root):
    """The patterns of ROOT/.dockerignore as Docker reads them (moby/patternmatcher ignorefile.ReadAll): lines
    starting with # are comments, surrounding spaces go, `!` negates, the rest is cleaned like Go's
    filepath.Clean with a leading / removed."""
    path = os.path.join(root, ".dockerignore")
    if not os.path.exists(path):
        return []
    patterns = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f.read().splitlines():
            if line.startswith("#"):
                continue
            pattern = line.strip()
            if not pattern:
                continue
            invert = pattern.startswith("!")
            if invert:
                pattern = pattern[1:].strip()
            patterns.append(("!" if invert else "") + clean(pattern))
    return patterns


def clean(pattern):
    """Go's filepath.Clean, then no leading / (patterns are relative to the context)."""
    if not pattern:
        return pattern
    pattern = posixpath.normpath(pattern)
    if pattern.startswith("//"):
        pattern = pattern[1:]
    if len(pattern) > 1 and pattern.startswith("/"):
        pattern = pattern[1:]
    return pattern


def compile_pattern(pattern):
    """A cleaned pattern as moby/patternmatcher compiles it: `*` and `?` stay within one path element, `**`
    (and `**/`) spans any number of them, `\\` escapes the next character, [...] is a class."""
    regex, i = "^", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*" and pattern[i + 1:i + 2] == "*":
            i += 2
            if pattern[i:i + 1] == "/":
                i += 1
            regex += ".*" if i == len(pattern) else "(.*/)?"
            continue
        if ch == "*":
            regex += "[^/]*"
        elif ch == "?":
            regex += "[^/]"
        elif ch in ".+()|{}$":
            regex += "\\" + ch
        elif ch == "\\":
            i += 1
            regex += "\\" + pattern[i] if i < len(pattern) else "\\\\"
        else:
            regex += ch
        i += 1
    return re.compile(regex + "$")


class IgnoreRules:
    """Docker's .dockerignore semantics (moby/patternmatcher MatchesOrParentMatches, as BuildKit applies them):
    the last pattern that matches a path or one of its parent directories decides, `!` re-includes."""

    def __init__(self, patterns):
        self.rules = []
        for p in patterns:
            p = p.strip()
            exclusion = p.startswith("!")
            if exclusion and len(p) == 1:
                raise CheckError('.dockerignore: illegal exclusion pattern "!"')
            if p:
                self.rules.append((exclusion, compile_pattern(clean(p[1:] if exclusion else p))))

    def excluded(self, path):
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        matched = False
        for exclusion, regex in self.rules:
            if any(regex.match(p) for p in prefixes):
                matched = not exclusion
        return matched


def work_tree_files(root):
    """Files of the work tree: tracked ones and untracked ones git does not ignore (deleted ones left out)."""
    out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         check=True, capture_output=True).stdout
    return sorted({p for p in out.decode().split("\0") if p and os.path.lexists(os.path.join(root, p))})


def build_context(root, patterns, files):
    rules = IgnoreRules(patterns)
    return [f for f in files if not rules.excluded(f)]


# --- Dockerfile -----------------------------------------------------------------------------------------------

class Stage:
    def __init__(self, index, base, name):
        self.index, self.base, self.name = index, base, name or str(index)
        self.instructions = []  # (instruction, value, line)
        self.workdir = "/"
        self.env = {}
        self.user = None
        self.entrypoint = None
        self.files = {}  # image path -> local path (what this stage's COPY and RUN produced, for later stages)
        self.loaded = False  # cargo metadata succeeded in this stage (--sources-only)
        self.incomplete = False  # a RUN was left out (--sources-only)


def substitute(value, variables, line):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name not in variables:
            raise CheckError(f"Dockerfile line {line}: ${name} has no value (ARG without a default?)")
        return variables[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, value)


def parse_dockerfile(path):
    parser = DockerfileParser(path=path)
    args, stages = {}, []
    bases = iter(parser.parent_images)
    for item in parser.structure:
        instruction, value, line = item["instruction"], item["value"], item["startline"] + 1
        if instruction == "COMMENT":
            continue
        if instruction == "ARG" and not stages:
            name, _, default = value.partition("=")
            args[name.strip()] = default.strip()
            continue
        if instruction == "FROM":
            words = value.split()
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            base = next(bases)
            known = {s.name: s for s in stages}
            stages.append(Stage(len(stages), known.get(base, base), name))
            continue
        if not stages:
            raise CheckError(f"Dockerfile line {line}: {instruction} before the first FROM")
        stages[-1].instructions.append((instruction, value, line))
    if not stages:
        raise CheckError("the Dockerfile has no FROM")
    return args, stages


def copy_operands(value, line):
    """COPY/ADD value -> (flags, sources, destination); shell form or JSON form."""
    flags = {}
    rest = value.strip()
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        key, _, val = word[2:].partition("=")
        flags[key] = val
        rest = rest.strip()
    words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    if len(words) < 2:
        raise CheckError(f"Dockerfile line {line}: {value!r} needs a source and a destination")
    return flags, words[:-1], words[-1]


# --- replay ---------------------------------------------------------------------------------------------------

def local(stage_dir, image_path):
    return os.path.join(stage_dir, image_path.lstrip("/"))


def resolve(workdir, path):
    return os.path.normpath(path if path.startswith("/") else os.path.join(workdir, path))


def copy_file(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.islink(src):
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(os.readlink(src), dst)
    else:
        shutil.copy2(src, dst)


def context_sources(source, context, line):
    """Context paths a COPY source names: '.', a directory, a file or a glob."""
    source = os.path.normpath(source).lstrip("/")
    if source in (".", ""):
        return [(f, f) for f in context]
    hits = [(f, os.path.basename(f)) for f in context if fnmatch.fnmatchcase(f, source)]
    under = [(f, os.path.relpath(f, source)) for f in context if f.startswith(source + "/")]
    if not hits and not under:
        raise CheckError(f"Dockerfile line {line}: COPY source {source!r} is not in the build context "
                         f"(left out by .dockerignore, or missing)")
    return hits + under


def stage_sources(source, origin, line):
    """Files an earlier stage produced under image path SOURCE."""
    source = os.path.normpath(source)
    if source in origin.files:
        return [(origin.files[source], os.path.basename(source))]
    under = [(p, os.path.relpath(k, source)) for k, p in origin.files.items() if k.startswith(source.rstrip("/") + "/")]
    if not under:
        raise CheckError(f"Dockerfile line {line}: COPY --from={origin.name} {source}: stage {origin.name} "
                         f"does not produce it")
    return under


INCLUDE = re.compile(r'include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)')


def missing_includes(root):
    """Files the .rs files under ROOT name in include_str!/include_bytes! (literal paths) that are not there."""
    missing = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "target"]
        for name in filenames:
            if name.endswith(".rs"):
                with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                    for rel in INCLUDE.findall(f.read()):
                        path = os.path.normpath(os.path.join(dirpath, rel))
                        if not os.path.isfile(path):
                            missing.add(os.path.relpath(path, root))
    return sorted(missing)


def run_step(argv, cwd, env, line):
    log(f"  RUN (line {line}) in {cwd}: {shlex.join(argv)}")
    started = time.monotonic()
    result = subprocess.run(argv, cwd=cwd, env=env)
    if result.returncode != 0:
        raise CheckError(f"Dockerfile line {line}: `{shlex.join(argv)}` exited {result.returncode}")
    log(f"  ... {time.monotonic() - started:.0f} s")


def replay_run(stage, stage_dir, value, line, tools, sources_only):
    cwd = local(stage_dir, stage.workdir)
    if sources_only:
        # Nothing is built, but a cargo command needs the workspace to load from what was copied: every member
        # and path dependency present (cargo metadata --no-deps, offline, about a second).
        if value.lstrip().startswith("cargo ") and os.path.exists(os.path.join(cwd, "Cargo.toml")) and not stage.loaded:
            result = subprocess.run(["cargo", "metadata", "--no-deps", "--offline", "--format-version", "1"],
                                    cwd=cwd, capture_output=True, text=True)
            if result.returncode != 0:
                raise CheckError(f"Dockerfile line {line}: the Cargo workspace does not load from the build context: "
                                 f"{result.stderr.strip()}")
            missing = missing_includes(cwd)
            if missing:
                raise CheckError(f"Dockerfile line {line}: the Rust sources include files the build context lacks "
                                 f"(.dockerignore?): {', '.join(missing)}")
            stage.loaded = True
            log(f"  RUN (line {line}): not run (--sources-only); the workspace loads (cargo metadata --no-deps) "
                f"and every include_str!/include_bytes! file is there")
        else:
            log(f"  RUN (line {line}): not run (--sources-only)")
        stage.incomplete = True
        return
    os.makedirs(cwd, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGO_TARGET_DIR") and k != "CARGO_BUILD_TARGET_DIR"}
    env.update(stage.env)
    env["PATH"] = f"{tools}/bin:{env.get('PATH', '')}"
    for part in re.split(r"\s*&&\s*", value.strip()):
        argv = shlex.split(part)
        if argv[:2] == ["cargo", "install"] and "cargo-chef" in argv:
            version = argv[argv.index("--version") + 1] if "--version" in argv else None
            if not version or "--locked" not in argv:
                raise CheckError(f"Dockerfile line {line}: pin cargo-chef with --locked --version")
            have = subprocess.run([f"{tools}/bin/cargo-chef", "--version"], capture_output=True, text=True) \
                if os.path.exists(f"{tools}/bin/cargo-chef") else None
            if have and have.stdout.split()[-1:] == [version]:
                log(f"  RUN (line {line}): cargo-chef {version} already in {tools}")
                continue
            run_step(["cargo", "install", "--quiet", "--root", tools] + argv[2:], cwd, env, line)
        elif argv == ["rm", "-rf", "/usr/local/cargo/registry"]:
            log(f"  RUN (line {line}): skipped `{part}` (trims the image layer only)")
        elif argv[:2] == ["cargo", "chef"] or argv[:2] == ["cargo", "build"]:
            run_step(argv, cwd, env, line)
        else:
            raise CheckError(f"Dockerfile line {line}: the check does not know how to replay `{part}`; "
                             f"teach operator/ci/image_check.py about it")


def reset_stage_dir(stage_dir, keep):
    """Empty STAGE_DIR except the directories in KEEP (relative)."""
    if not os.path.isdir(stage_dir):
        os.makedirs(stage_dir)
        return
    kept = {os.path.normpath(k) for k in keep}
    for dirpath, dirnames, filenames in os.walk(stage_dir, topdown=True):
        rel = os.path.relpath(dirpath, stage_dir)
        for d in list(dirnames):
            r = os.path.normpath(os.path.join(rel, d))
            if r in kept:
                dirnames.remove(d)
            elif not any(k.startswith(r + "/") for k in kept):
                shutil.rmtree(os.path.join(dirpath, d))
                dirnames.remove(d)
        for f in filenames:
            os.remove(os.path.join(dirpath, f))


def record_tree(stage, stage_dir):
    """Every file under the stage directory, as image paths (after RUN, which may create anything)."""
    for dirpath, _, filenames in os.walk(stage_dir):
        for f in filenames:
            p = os.path.join(dirpath, f)
            stage.files["/" + os.path.relpath(p, stage_dir)] = p


def replay(root, work, args, stages, context, tools, sources_only):
    for stage in stages:
        stage_dir = os.path.join(work, "stages", stage.name)
        parent = stage.base if isinstance(stage.base, Stage) else None
        workdirs = [i[1] for i in stage.instructions if i[0] == "WORKDIR"] + ([parent.workdir] if parent else [])
        reset_stage_dir(stage_dir, [os.path.join(w.lstrip("/"), "target") for w in workdirs])
        base_name = parent.name if parent else stage.base
        log(f"stage {stage.name} (FROM {base_name})")
        if parent:
            stage.workdir, stage.env, stage.user = parent.workdir, dict(parent.env), parent.user
            for image_path, path in parent.files.items():
                dst = local(stage_dir, image_path)
                if not os.path.exists(dst):
                    copy_file(path, dst)
                stage.files[image_path] = dst
        variables = dict(args)
        if parent and parent.incomplete:
            stage.incomplete = True
        for instruction, value, line in stage.instructions:
            variables.update(stage.env)
            value = substitute(value, variables, line) if instruction in ("COPY", "ADD", "WORKDIR", "ENV", "USER") else value
            if instruction == "WORKDIR":
                stage.workdir = resolve(stage.workdir, value)
                os.makedirs(local(stage_dir, stage.workdir), exist_ok=True)
            elif instruction in ("COPY", "ADD"):
                flags, sources, dest = copy_operands(value, line)
                if instruction == "ADD" and any(re.match(r"^[a-z]+://", s) for s in sources):
                    raise CheckError(f"Dockerfile line {line}: ADD of a URL cannot be checked offline")
                origin = None
                if "from" in flags:
                    origin = next((s for s in stages if s.name == flags["from"] and s.index < stage.index), None)
                    if origin is None:
                        raise CheckError(f"Dockerfile line {line}: COPY --from={flags['from']} names no earlier "
                                         f"stage (copies from other images cannot be checked offline)")
                    if origin.incomplete:
                        log(f"  {instruction} (line {line}) {value}: not checked, stage {origin.name} was not "
                            f"built (--sources-only)")
                        stage.incomplete = True
                        continue
                dest_path = resolve(stage.workdir, dest)
                into_dir = dest.endswith("/") or len(sources) > 1 or sources == ["."]
                copied = 0
                for source in sources:
                    pairs = stage_sources(source, origin, line) if origin else context_sources(source, context, line)
                    for src_rel, rel in pairs:
                        src = src_rel if origin else os.path.join(root, src_rel)
                        image_path = os.path.normpath(os.path.join(dest_path, rel)) if into_dir or len(pairs) > 1 \
                            else dest_path
                        dst = local(stage_dir, image_path)
                        copy_file(src, dst)
                        stage.files[image_path] = dst
                        copied += 1
                log(f"  {instruction} (line {line}) {value}: {copied} files")
            elif instruction == "RUN":
                replay_run(stage, stage_dir, value, line, tools, sources_only)
                record_tree(stage, stage_dir)
            elif instruction == "ENV":
                for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', value):
                    stage.env[k] = v.strip('"')
            elif instruction == "USER":
                stage.user = value
            elif instruction == "ENTRYPOINT":
                stage.entrypoint = json.loads(value) if value.startswith("[") else ["/bin/sh", "-c", value]
            elif instruction in ("LABEL", "EXPOSE", "CMD"):
                pass
            else:
                raise CheckError(f"Dockerfile line {line}: the check does not handle {instruction}")
    return not any(s.incomplete for s in stages)


# --- runtime stage --------------------------------------------------------------------------------------------

def manifest_commands(path):
    import yaml
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            spec = ((doc or {}).get("spec") or {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []):
                if c.get("command"):
                    yield c["command"][0]


def check_binary(path, base):
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout)
    versions = re.findall(r"Name: GLIBC_(\d+)\.(\d+)",
                          subprocess.run(["readelf", "-V", path], capture_output=True, text=True, check=True).stdout)
    newest = max(((int(a), int(b)) for a, b in versions), default=(0, 0))
    known = next((v for k, v in RUNTIME_BASES.items() if base.split(":")[0].split("@")[0] == k), None)
    if known is None:
        log(f"  {path}: needs {', '.join(needed)}, glibc {newest[0]}.{newest[1]} (base {base} not known: not compared)")
        return
    glibc, libs = known
    missing = sorted(set(needed) - libs)
    if missing:
        raise CheckError(f"{path} needs {', '.join(missing)}, which {base} does not have")
    if newest > glibc:
        raise CheckError(f"{path} needs glibc {newest[0]}.{newest[1]}, {base} has {glibc[0]}.{glibc[1]}")
    log(f"  {os.path.basename(path)}: libraries {', '.join(needed)} and glibc {newest[0]}.{newest[1]} are in {base}")


def check_runtime(stage, exec_from):
    base = stage.base.name if isinstance(stage.base, Stage) else stage.base
    if not stage.entrypoint:
        raise CheckError(f"final stage {stage.name} has no ENTRYPOINT")
    wanted = [("ENTRYPOINT", stage.entrypoint[0])]
    for manifest in exec_from:
        wanted += [(manifest, c) for c in manifest_commands(manifest)]
    for origin, image_path in wanted:
        path = stage.files.get(os.path.normpath(image_path))
        if path is None or not os.access(path, os.X_OK):
            raise CheckError(f"{origin}: {image_path} is not an executable file of the final image "
                             f"(it has {', '.join(sorted(stage.files)) or 'no files of its own'})")
        check_binary(path, base)
        argv = [path, "--help"]
        user = stage.user or "0"
        if os.geteuid() == 0 and shutil.which("setpriv"):
            uid, _, gid = user.partition(":")
            argv = ["setpriv", f"--reuid={uid}", f"--regid={gid or uid}", "--clear-groups"] + argv
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/",
                                env={"PATH": "/usr/local/bin:/usr/bin:/bin", **stage.env})
        if result.returncode != 0 or not result.stdout.strip():
            raise CheckError(f"{image_path} --help as user {user} exited {result.returncode}: {result.stderr.strip()}")
        log(f"  {image_path} --help as user {user}: {result.stdout.strip().splitlines()[0]}")


# --- commands -------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("context")
    c.add_argument("root")
    k = sub.add_parser("check")
    k.add_argument("root")
    k.add_argument("work")
    k.add_argument("--dockerfile", default="Dockerfile")
    k.add_argument("--exec-from", action="append", default=[])
    k.add_argument("--sources-only", action="store_true")
    opts = parser.parse_args()
    root = os.path.abspath(opts.root)
    context = build_context(root, dockerignore_patterns(root), work_tree_files(root))
    if opts.command == "context":
        print("\n".join(context))
        return
    work = os.path.abspath(opts.work)
    try:
        args, stages = parse_dockerfile(os.path.join(root, opts.dockerfile))
        log(f"build context: {len(context)} files (of {len(work_tree_files(root))} in the work tree)")
        complete = replay(root, work, args, stages, context, os.path.join(work, "tools"), opts.sources_only)
        if complete:
            log(f"final stage {stages[-1].name}")
            check_runtime(stages[-1], opts.exec_from)
    except CheckError as e:
        print(f"image: FAILED: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
