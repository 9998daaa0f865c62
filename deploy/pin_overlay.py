"""Pins a kustomize overlay to one commit of notion-mcp-remote: the remote base's ?ref= and the image's newTag
(and, if given, newName), as kustomize edit set image would set them. Used by bump-deployments.sh.

  python3 pin_overlay.py KUSTOMIZATION --base URL --ref SHA --image NAME --tag TAG [--new-name REPO]

  --base     the remote base without its query, e.g. https://github.com/notion-mcp-remote/notion-mcp-remote//kustomize/base
  --ref      full commit SHA for the base's ?ref= (other query parameters such as timeout are kept)
  --image    the images[].name entry to set (the image name the base uses)
  --tag      its newTag; --new-name its newName

The file is parsed with PyYAML and only the spans of the changed scalars are rewritten (comments, order and
quoting stay); a missing newTag or newName key is added to the entry. The result is parsed again and must equal
the original with exactly those values changed. Prints "pinned" or "unchanged"; exits 1 with a message naming
the file on anything it cannot pin unambiguously (no or several matching resources or images, a digest pin,
flow-style entries to extend, several YAML documents).
"""

import argparse
import copy
import json
import re
import sys

import yaml

SHA = re.compile(r"^[0-9a-f]{40}$")


class PinError(Exception):
    pass


def with_ref(url, ref):
    """URL with its ref query parameter (or kustomize's older alias version) set to REF; others kept."""
    base, _, query = url.partition("?")
    params = [p for p in query.split("&") if p] if query else []
    keys = [p.partition("=")[0] for p in params]
    key = "ref" if "ref" in keys or "version" not in keys else "version"
    if key in keys:
        params = [f"{key}={ref}" if p.partition("=")[0] == key else p for p in params]
    else:
        params.append(f"ref={ref}")
    return f"{base}?{'&'.join(params)}"


def render(value, style):
    """VALUE as a YAML scalar in STYLE (None plain, '"' or "'"); plain only where it reads back unchanged."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style is None and re.fullmatch(r"[A-Za-z0-9._/:?=&%~+@-]+", value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def mapping_get(node, key):
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def insertion(text, mapping, key, rendered):
    """(index, text) that adds KEY: RENDERED as the last line of block MAPPING."""
    if mapping.flow_style:
        raise PinError(f"images entry at line {mapping.start_mark.line + 1} is flow style; add {key} to it by hand")
    indent = mapping.value[0][0].start_mark.column
    last = mapping.value[-1][1]
    pos = last.end_mark.index
    if last.end_mark.column != 0:
        newline = text.find("\n", pos)
        pos = len(text) if newline < 0 else newline + 1
    prefix = "" if pos == 0 or text[pos - 1] == "\n" else "\n"
    return pos, f"{prefix}{' ' * indent}{key}: {rendered}\n"


def pin(text, base, ref, image, tag, new_name=None):
    if not SHA.match(ref):
        raise PinError(f"--ref {ref!r} is not a full 40-character commit SHA (kustomize needs the full SHA)")
    nodes = list(yaml.compose_all(text))
    if len(nodes) != 1 or not isinstance(nodes[0], yaml.MappingNode):
        raise PinError("expected one YAML document with a mapping (a Kustomization)")
    root = nodes[0]
    data = yaml.safe_load(text)
    expected = copy.deepcopy(data)
    replace, insert = [], []

    resources = mapping_get(root, "resources")
    if not isinstance(resources, yaml.SequenceNode):
        raise PinError("no resources list")
    hits = [(i, n) for i, n in enumerate(resources.value)
            if isinstance(n, yaml.ScalarNode) and n.value.partition("?")[0] == base]
    if len(hits) != 1:
        remote = [n.value for n in resources.value if isinstance(n, yaml.ScalarNode) and "//" in n.value]
        raise PinError(f"expected exactly one resource {base}?ref=..., found {len(hits)} "
                       f"(remote resources: {', '.join(remote) or 'none'})")
    index, node = hits[0]
    url = with_ref(node.value, ref)
    expected["resources"][index] = url
    if url != node.value:
        replace.append((node, render(url, node.style)))

    images = mapping_get(root, "images")
    entries = [n for n in (images.value if isinstance(images, yaml.SequenceNode) else [])
               if isinstance(n, yaml.MappingNode) and getattr(mapping_get(n, "name"), "value", None) == image]
    if len(entries) != 1:
        raise PinError(f"expected exactly one images entry named {image}, found {len(entries)}")
    entry = entries[0]
    position = next(i for i, n in enumerate(images.value) if n is entry)
    if mapping_get(entry, "digest") is not None:
        raise PinError(f"images entry {image} pins a digest; remove it to pin by tag")
    wanted = [("newTag", tag)] + ([("newName", new_name)] if new_name else [])
    for key, value in wanted:
        expected["images"][position][key] = value
        current = mapping_get(entry, key)
        if current is None:
            insert.append(insertion(text, entry, key, json.dumps(value)))
        elif not isinstance(current, yaml.ScalarNode):
            raise PinError(f"images entry {image}: {key} is not a scalar")
        elif data["images"][position].get(key) != value:
            style = current.style if current.style in ("'", '"') else '"'
            replace.append((current, render(value, style)))

    edits = [(n.start_mark.index, n.end_mark.index, r) for n, r in replace] + [(p, p, t) for p, t in insert]
    out = text
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        out = out[:start] + new + out[end:]
    if yaml.safe_load(out) != expected:
        raise PinError("internal: the edited file does not read back as expected; nothing written")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kustomization")
    parser.add_argument("--base", required=True)
    parser.add_argument("--ref", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--new-name")
    opts = parser.parse_args()
    try:
        with open(opts.kustomization) as f:
            text = f.read()
        out = pin(text, opts.base, opts.ref, opts.image, opts.tag, opts.new_name)
    except (OSError, yaml.YAMLError, PinError) as e:
        print(f"pin_overlay: {opts.kustomization}: {e}", file=sys.stderr)
        sys.exit(1)
    if out != text:
        with open(opts.kustomization, "w") as f:
            f.write(out)
    print(f"{opts.kustomization}: {'pinned' if out != text else 'unchanged'}")


if __name__ == "__main__":
    main()
