#!/usr/bin/env python3
"""Check docs/openapi.yaml against the OpenAPI 3.1 schema and against tipd's code.

  check_openapi.py validate DOC           schema-validate DOC, resolve every $ref,
                                          check path parameters, tags, operationIds
  check_openapi.py routes SRCDIR          print the routes extracted from the C sources
  check_openapi.py coverage DOC SRCDIR    every route in the code is documented (right
                                          method, right surface tag) and every
                                          documented operation is routed in the code
  check_openapi.py operations DOC         print "METHOD PATH TAG[,TAG] HASBODY" per operation
                                          (read by tests/integration/test_openapi.c)
  check_openapi.py check-responses DOC MANIFEST
                                          check answers a real tipd gave: each line of
                                          MANIFEST is METHOD<TAB>PATH-TEMPLATE<TAB>STATUS
                                          <TAB>CONTENT-TYPE<TAB>BODY-FILE<TAB>LABEL; the
                                          status must be documented for the operation
                                          (never 500), the content type documented for
                                          it, the body empty when none is documented and
                                          valid against the documented schema when JSON
                                          (read by tests/integration/test_openapi.c;
                                          problems are printed on stdout)
  check_openapi.py selftest DOC SRCDIR    prove the checks fail when they should

Exit status 0 when everything holds, 1 with one line per problem otherwise.
The route extractor knows the idioms tipd's routers use (see IDIOMS below) and
fails loudly on any path literal or path comparison it cannot map.
"""
import copy
import json
import os
import re
import sys

import yaml
from jsonschema import Draft202012Validator

HERE = os.path.dirname(os.path.abspath(__file__))
OAS_SCHEMA = os.path.join(HERE, "oas-3.1-schema.json")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SURFACES = ("source", "review")


class Fail(Exception):
	pass


def load_doc(path):
	with open(path, encoding="utf-8") as f:
		return yaml.safe_load(f)


# ---------------------------------------------------------------- validate

def resolve_pointer(doc, ref):
	if not ref.startswith("#/"):
		raise Fail("$ref %r is not a local JSON pointer" % ref)
	node = doc
	for part in ref[2:].split("/"):
		part = part.replace("~1", "/").replace("~0", "~")
		if isinstance(node, dict) and part in node:
			node = node[part]
		elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
			node = node[int(part)]
		else:
			raise Fail("$ref %r does not resolve" % ref)
	return node


def walk(node, where=""):
	yield where, node
	if isinstance(node, dict):
		for k, v in node.items():
			yield from walk(v, where + "/" + str(k))
	elif isinstance(node, list):
		for i, v in enumerate(node):
			yield from walk(v, where + "/" + str(i))


def deref(doc, node):
	seen = 0
	while isinstance(node, dict) and "$ref" in node:
		node = resolve_pointer(doc, node["$ref"])
		seen += 1
		if seen > 16:
			raise Fail("$ref loop")
	return node


def validate(doc):
	"""Return a list of problems with `doc` as an OpenAPI 3.1 document."""
	problems = []
	with open(OAS_SCHEMA, encoding="utf-8") as f:
		schema = json.load(f)
	for err in Draft202012Validator(schema).iter_errors(doc):
		loc = "/".join(str(p) for p in err.absolute_path)
		problems.append("schema: at /%s: %s" % (loc, err.message))
	if not str(doc.get("openapi", "")).startswith("3.1."):
		problems.append("openapi must be 3.1.x")
	nrefs = 0
	for where, node in walk(doc):
		if isinstance(node, dict) and isinstance(node.get("$ref"), str):
			nrefs += 1
			try:
				resolve_pointer(doc, node["$ref"])
			except Fail as e:
				problems.append("%s: %s" % (where, e))
	for name, s in (doc.get("components", {}).get("schemas") or {}).items():
		try:
			Draft202012Validator.check_schema(s)
		except Exception as e:  # jsonschema.SchemaError
			problems.append("components/schemas/%s: not a 2020-12 schema: %s" % (name, e))
	declared = {t.get("name") for t in doc.get("tags", [])}
	op_ids = {}
	for path, item in (doc.get("paths") or {}).items():
		want = set(re.findall(r"\{([^}]+)\}", path))
		for m in METHODS:
			op = item.get(m)
			if op is None:
				continue
			here = "%s %s" % (m.upper(), path)
			tags = op.get("tags") or []
			if not tags or not set(tags) <= set(SURFACES) or not set(tags) <= declared:
				problems.append("%s: tags must be a non-empty subset of %s, declared at the top"
				                % (here, list(SURFACES)))
			oid = op.get("operationId")
			if not oid:
				problems.append("%s: no operationId" % here)
			elif oid in op_ids:
				problems.append("%s: operationId %s also used by %s" % (here, oid, op_ids[oid]))
			else:
				op_ids[oid] = here
			params = []
			try:
				for p in (item.get("parameters") or []) + (op.get("parameters") or []):
					params.append(deref(doc, p))
			except Fail as e:
				problems.append("%s: %s" % (here, e))
			have = {p.get("name") for p in params if p.get("in") == "path"}
			if have != want:
				problems.append("%s: path parameters declared %s, template has %s"
				                % (here, sorted(have), sorted(want)))
			for code, resp in (op.get("responses") or {}).items():
				try:
					r = deref(doc, resp)
				except Fail:
					continue
				for ctype, media in (r.get("content") or {}).items():
					if code[0] in "45" and ctype != "application/problem+json":
						problems.append("%s: error %s must be application/problem+json" % (here, code))
	if nrefs == 0:
		problems.append("no $ref at all: bodies belong in components/schemas")
	return problems


# ---------------------------------------------------------------- extractor

LIT = r'"(/[A-Za-z0-9_./{}-]*)"'
RE_FUNC = re.compile(r"\n([A-Za-z_]\w*)\(([^;{)]*)\)\s*\n\{", re.M)
RE_LITERAL = re.compile(LIT)
# Literals that are character sets, not paths.
RE_CHARSET_USE = re.compile(r"\b(?:strcspn|strspn|strchr|strrchr|strpbrk)\s*\([^;]*?" + LIT)

IDIOMS = {
	# strcmp(path, "/x") == 0: the path itself.
	"full": re.compile(r"\bstrcmp\s*\(\s*path\s*,\s*" + LIT + r"\s*\)\s*==\s*0"),
	# strncmp(path, "/x/", n) == 0 then X_route(...): delegation to another router.
	"delegate": re.compile(r"\bstrncmp\s*\(\s*path\s*,\s*" + LIT + r"\s*,\s*[^)]*\)\s*==\s*0"),
	# match_id(path, "/x/", id, &rest): "/x/{id}" becomes the base of what follows.
	"base": re.compile(r"\bmatch_\w+\s*\(\s*path\s*,\s*" + LIT + r"\s*,[^)]*&rest\s*\)"),
	# match_id(rest, "/y/", aid, &rest) == 0 && *rest == '\0': base + "/y/{aid}".
	"sub_id": re.compile(r"\bmatch_\w+\s*\(\s*rest\s*,\s*" + LIT + r"\s*,[^)]*&rest\s*\)\s*==\s*0"),
	# strcmp(rest, "/z") == 0: base + "/z".
	"sub": re.compile(r"\bstrcmp\s*\(\s*rest\s*,\s*" + LIT + r"\s*\)\s*==\s*0"),
	# *rest == '\0': the base itself.
	"base_end": re.compile(r"\*\s*rest\s*==\s*'\\0'"),
	# match_team(path, "/a/", "/b", team) == 0: prefix and suffix as arguments.
	"helper_args": re.compile(r"\bmatch_\w+\s*\(\s*path\s*,\s*" + LIT + r"\s*,\s*" + LIT + r"\s*,[^)]*\)\s*==\s*0"),
	# match_team(path, ...) == 0: a helper with pre[] = "/a/", post[] = "/b".
	"helper": re.compile(r"\b(match_\w+)\s*\(\s*path\s*,\s*[A-Za-z_][\w>.-]*\s*\)\s*==\s*0"),
}
# A row of a route table: { "GET", "/api/v1/reports/{id}", ... } (review.c).
RE_TABLE_ROW = re.compile(r'\{\s*"([A-Z]+)"\s*,\s*' + LIT + r'\s*,')
RE_HELPER_PARTS = re.compile(r"\bpre\[\]\s*=\s*" + LIT + r"(?:\s*,\s*post\[\]\s*=\s*" + LIT + r")?")
RE_METHOD_VAR = re.compile(r"(?<![\w>.])(get|post|patch|put|delete)\b(?!\s*\()")
RE_METHOD_LIT = re.compile(r'strcmp\s*\(\s*(?:method|http_request_method\s*\(\s*req\s*\))\s*,\s*"([A-Z]+)"\s*\)\s*==\s*0')
RE_BODY_METHOD = re.compile(r'method_not_allowed\s*\(\s*req\s*,\s*"([A-Z, ]+)"\s*\)')
RE_PATHISH = re.compile(r"\b(path|rest)\b")


def strip_comments(text):
	text = re.sub(r"/\*.*?\*/", lambda m: " " * len(m.group(0)), text, flags=re.S)
	return re.sub(r"//[^\n]*", "", text)


def functions(text):
	"""Yield (name, body_start, body_end) for every function definition."""
	for m in RE_FUNC.finditer(text):
		start = m.end() - 1
		depth, i = 0, start
		while i < len(text):
			if text[i] == "{":
				depth += 1
			elif text[i] == "}":
				depth -= 1
				if depth == 0:
					break
			i += 1
		yield m.group(1), start, i + 1


def conditions(body):
	"""Yield (condition text, statement body text) for every if in `body`."""
	for m in re.finditer(r"\bif\s*\(", body):
		depth, i = 1, m.end()
		while i < len(body) and depth:
			depth += {"(": 1, ")": -1}.get(body[i], 0)
			i += 1
		cond = body[m.end():i - 1]
		rest = body[i:]
		# The statement governed by the if: a braced block or one statement.
		s = rest.lstrip()
		if s.startswith("{"):
			d, j = 0, 0
			while j < len(s):
				d += {"{": 1, "}": -1}.get(s[j], 0)
				j += 1
				if d == 0:
					break
			stmt = s[:j]
		else:
			stmt = s[:s.find(";") + 1]
		yield cond, stmt


def surface_of(fname, func):
	base = os.path.basename(fname)
	if base.startswith("inbox"):
		return ("source",)
	if base.startswith("review"):
		return ("review",)
	if func == "route_common":
		return SURFACES
	if func.startswith("routes_source"):
		return ("source",)
	if func.startswith("routes_review"):
		return ("review",)
	return None


def methods_of(cond, stmt):
	found = {m.upper() for m in RE_METHOD_VAR.findall(cond)}
	found |= set(RE_METHOD_LIT.findall(cond))
	if "is_get(" in cond:
		found.add("GET")
	if not found:
		for lst in RE_BODY_METHOD.findall(stmt):
			found |= {x.strip() for x in lst.split(",")}
		if re.search(r"\bis_get\s*\(", stmt):
			found.add("GET")
	return found or {"*"}


def route_files(srcdir):
	d = os.path.join(srcdir, "server", "tipd")
	found = []
	for sub in ("app", "source", "review"):
		for n in sorted(os.listdir(os.path.join(d, sub))):
			if n.endswith(".c") and (n == "routes.c" or n.startswith("review") or
			                         n.startswith("inbox")):
				found.append(os.path.join(d, sub, n))
	return found


def extract_file(fname, routes, problems):
	text = strip_comments(open(fname, encoding="utf-8").read())
	consumed = set()  # offsets of path literals accounted for
	for m in RE_CHARSET_USE.finditer(text):
		consumed.add(m.start(1) - 1)
	for m in RE_TABLE_ROW.finditer(text):
		surf = surface_of(fname, "")
		if surf is None:
			problems.append("%s: a route table of no known surface" % os.path.basename(fname))
			continue
		routes.add((m.group(1), norm(m.group(2)), surf))
		consumed.add(m.start(2) - 1)
	helpers = {}
	for name, a, b in functions(text):
		hm = RE_HELPER_PARTS.search(text, a, b)
		if hm and name.startswith("match_"):
			helpers[name] = hm.group(1) + "{}" + (hm.group(2) or "")
			consumed.update({hm.start(g) - 1 for g in (1, 2) if hm.group(g)})
	for name, a, b in functions(text):
		body = text[a:b]
		surf = surface_of(fname, name)
		base = None
		for cond, stmt in conditions(body):
			off = a + body.find(cond)
			found = []
			for kind, rx in IDIOMS.items():
				for m in rx.finditer(cond):
					found.append((kind, m))
					for g in range(1, (m.lastindex or 0) + 1):
						if m.group(g) and m.group(g).startswith("/"):
							consumed.add(off + m.start(g) - 1)
			kinds = {k for k, _ in found}
			if not found:
				if RE_PATHISH.search(cond) and RE_LITERAL.search(cond) is None and \
				   re.search(r"\b(?:str\w*cmp|match_\w+)\s*\(\s*(?:path|rest)\b", cond) and \
				   not name.startswith("match_"):
					problems.append("%s:%s(): cannot map path test `%s`" %
					                (os.path.basename(fname), name, " ".join(cond.split())))
				continue
			if surf is None:
				problems.append("%s:%s(): routes in a function of no known surface" %
				                (os.path.basename(fname), name))
				continue
			meths = methods_of(cond, stmt)
			paths = []
			for kind, m in found:
				if kind == "full":
					paths.append(m.group(1))
				elif kind == "delegate":
					if not re.search(r"\b\w+_route\s*\(", stmt):
						problems.append("%s:%s(): prefix test on %s does not delegate to a *_route()" %
						                (os.path.basename(fname), name, m.group(1)))
				elif kind == "base":
					base = m.group(1) + "{}"
				elif kind == "helper_args":
					paths.append(m.group(1) + "{}" + m.group(2))
				elif kind == "helper":
					if m.group(1) not in helpers:
						problems.append("%s:%s(): helper %s() has no pre[]/post[] pattern" %
						                (os.path.basename(fname), name, m.group(1)))
					else:
						paths.append(helpers[m.group(1)])
				elif kind in ("sub_id", "sub", "base_end"):
					if base is None:
						problems.append("%s:%s(): `rest` used before any base path" %
						                (os.path.basename(fname), name))
						continue
					if kind == "sub_id":
						paths.append(base + m.group(1) + "{}")
					elif kind == "sub":
						paths.append(base + m.group(1))
					elif "sub_id" not in kinds:
						paths.append(base)
			if kinds == {"base"}:
				continue  # "not this prefix: no route": only sets the base
			for p in paths:
				for meth in meths:
					routes.add((meth, p, surf))
	for m in RE_LITERAL.finditer(text):
		if m.start() not in consumed:
			line = text.count("\n", 0, m.start()) + 1
			problems.append("%s:%d: cannot map path literal \"%s\" to a route" %
			                (os.path.basename(fname), line, m.group(1)))


def extract(srcdir):
	"""Return ({(METHOD|*, path with {} params, surfaces)}, problems)."""
	routes, problems = set(), []
	files = route_files(srcdir)
	if not any(f.endswith("routes.c") for f in files):
		problems.append("server/tipd/app/routes.c not found")
	for f in files:
		extract_file(f, routes, problems)
	if not routes:
		problems.append("no routes found at all")
	return routes, problems


# ---------------------------------------------------------------- coverage

def norm(path):
	return re.sub(r"\{[^}]*\}", "{}", path)


def operations(doc):
	for path, item in (doc.get("paths") or {}).items():
		for m in METHODS:
			if m in item:
				yield m.upper(), path, tuple(item[m].get("tags") or ())


def coverage(doc, routes):
	problems = []
	ops = {}
	for meth, path, tags in operations(doc):
		ops.setdefault(norm(path), {})[meth] = tags
	for meth, path, surf in sorted(routes):
		have = ops.get(norm(path), {})
		if meth == "*":
			hits = list(have.values())
		else:
			hits = [have[meth]] if meth in have else []
		if not hits:
			problems.append("code routes %s %s (%s) but the document does not" %
			                (meth, path, "/".join(surf)))
			continue
		for s in surf:
			if not any(s in t for t in hits):
				problems.append("%s %s is served on the %s surface but not tagged %s" %
				                (meth, path, s, s))
	for meth, path, tags in operations(doc):
		served = [r for r in routes if norm(r[1]) == norm(path) and r[0] in (meth, "*")]
		if not served:
			problems.append("document has %s %s but the code routes no such operation" % (meth, path))
		for t in tags:
			if served and not any(t in r[2] for r in served):
				problems.append("%s %s is tagged %s but the code serves it only on %s" %
				                (meth, path, t, "/".join(sorted({s for r in served for s in r[2]}))))
	return problems


# ---------------------------------------------------------------- responses

DOC_URI = "urn:tipline:openapi"


def _absolute_refs(node):
	"""A copy of `node` whose local $refs point into the document's URI."""
	if isinstance(node, dict):
		return {k: (DOC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#")
		            else _absolute_refs(v)) for k, v in node.items()}
	if isinstance(node, list):
		return [_absolute_refs(v) for v in node]
	return node


def schema_validator(doc, schema):
	"""A Draft 2020-12 validator for `schema`, its $refs resolved in `doc`."""
	schema = _absolute_refs(schema)
	try:
		from referencing import Registry, Resource
		from referencing.jsonschema import DRAFT202012
		res = Resource.from_contents(doc, default_specification=DRAFT202012)
		return Draft202012Validator(schema, registry=Registry().with_resource(DOC_URI, res))
	except ImportError:  # jsonschema < 4.18 (Debian bookworm)
		from jsonschema import RefResolver
		return Draft202012Validator(schema, resolver=RefResolver(DOC_URI, doc))


def documented_response(op, status):
	"""The response object documented for `status` (exact code, then NXX), or None."""
	responses = op.get("responses") or {}
	for key in (str(status), "%dXX" % (status // 100), "%dxx" % (status // 100)):
		if key in responses:
			return responses[key]
	return None


def media_matches(ctype, documented):
	if ctype == documented:
		return True
	if documented.endswith("/*"):
		return ctype.split("/")[0] == documented.split("/")[0]
	return documented == "*/*"


def check_response(doc, method, template, status, ctype, body):
	"""Return the problems with one answer to `method` `template`."""
	item = (doc.get("paths") or {}).get(template)
	op = item.get(method.lower()) if item else None
	if op is None:
		return ["%s %s is not a documented operation" % (method, template)]
	if status == 500:
		return ["answered 500 (an internal error is never a documented answer)"]
	resp = documented_response(op, status)
	if resp is None:
		return ["answered %d, which is not documented for it (documented: %s)" %
		        (status, ", ".join(sorted(op.get("responses") or {})))]
	resp = deref(doc, resp)
	content = resp.get("content") or {}
	ctype = ctype.split(";")[0].strip().lower()
	if not content:
		if body.strip():
			return ["answered %d with a %d-byte body where none is documented" % (status, len(body))]
		return []
	media = [m for m in content if media_matches(ctype, m.lower())]
	if not media:
		return ["answered %d as %r, documented as %s" % (status, ctype or "(none)",
		                                                  ", ".join(sorted(content)))]
	schema = (content[media[0]] or {}).get("schema")
	if schema is None or not (ctype == "application/json" or ctype.endswith("+json")):
		return []
	try:
		value = json.loads(body.decode("utf-8"))
	except (UnicodeDecodeError, ValueError) as e:
		return ["answered %d as %s but the body is not JSON: %s" % (status, ctype, e)]
	errors = sorted(schema_validator(doc, schema).iter_errors(value), key=lambda e: list(e.path))
	return ["answered %d: body does not match its schema at /%s: %s" %
	        (status, "/".join(str(p) for p in e.absolute_path), e.message[:300]) for e in errors]


def check_responses(doc, manifest):
	"""Check every line of `manifest` (see the usage); return (problems, count)."""
	problems, n = [], 0
	with open(manifest, encoding="utf-8") as f:
		for line in f:
			line = line.rstrip("\n")
			if not line:
				continue
			parts = line.split("\t")
			if len(parts) != 6:
				problems.append("manifest: bad line %r" % line)
				continue
			method, template, status, ctype, bodyfile, label = parts
			with open(bodyfile, "rb") as b:
				body = b.read()
			n += 1
			for p in check_response(doc, method, template, int(status), ctype, body):
				problems.append("%s: %s" % (label, p))
	return problems, n


# ---------------------------------------------------------------- selftest

def selftest(doc, srcdir, tmp):
	"""Mutate the document and the sources; each mutation must be caught."""
	problems = []
	routes, _ = extract(srcdir)
	# A documented operation removed: the code route is reported.
	d = copy.deepcopy(doc)
	victim = next(p for p in d["paths"] if "{" in p)
	m = next(x for x in METHODS if x in d["paths"][victim])
	del d["paths"][victim][m]
	if not coverage(d, routes):
		problems.append("selftest: dropping %s %s from the document went unnoticed" % (m, victim))
	# An operation documented that no code routes.
	d = copy.deepcopy(doc)
	d["paths"]["/api/v1/nonexistent"] = {"get": {"tags": ["review"], "operationId": "x",
	                                            "responses": {"200": {"description": "x"}}}}
	if not coverage(d, routes):
		problems.append("selftest: documenting an unrouted operation went unnoticed")
	# A wrong surface tag.
	d = copy.deepcopy(doc)
	d["paths"]["/api/v1/login"]["post"]["tags"] = ["source"]
	if not coverage(d, routes):
		problems.append("selftest: a wrong surface tag went unnoticed")
	# Schema violations and a dangling $ref.
	d = copy.deepcopy(doc)
	d["paths"]["/healthz"]["get"]["responses"] = {"200": {"content": {}}}
	d["components"]["schemas"]["Broken"] = {"$ref": "#/components/schemas/Missing"}
	if len(validate(d)) < 2:
		problems.append("selftest: a response without description and a dangling $ref went unnoticed")
	# Answers: an undocumented status, a 500, a wrong content type, a body
	# where none is documented, and a body against its schema must be caught;
	# a problem+json body that matches must pass.
	bad_answers = [
		("GET", "/healthz", 418, "application/json", b"{}"),
		("GET", "/healthz", 500, "application/problem+json", b"{}"),
		("GET", "/healthz", 200, "text/plain", b"ok"),
		("POST", "/api/v1/logout", 204, "", b"{}"),
		("GET", "/healthz", 200, "application/json", b"null"),
		("GET", "/healthz", 405, "application/problem+json", b"{\"status\": \"x\"}"),
	]
	for a in bad_answers:
		if not check_response(doc, *a):
			problems.append("selftest: answer %s %s %d %s %r went unnoticed" % a)
	good = b'{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"x"}'
	p4 = check_response(doc, "GET", "/healthz", 405, "application/problem+json", good)
	if p4:
		problems.append("selftest: a documented problem+json answer was refused: %s" % p4)
	# A new route in the code: a fresh routes.c with one more strcmp.
	tree = os.path.join(tmp, "server", "tipd")
	src_tree = os.path.join(srcdir, "server", "tipd")
	for f in route_files(srcdir):
		text = open(f, encoding="utf-8").read()
		if f.endswith("routes.c"):
			text = text.replace('strcmp(path, "/healthz") == 0',
			                    'strcmp(path, "/healthz") == 0 || '
			                    '(strcmp(path, "/api/v1/brand-new") == 0 && is_get(req))', 1)
		dest = os.path.join(tree, os.path.relpath(f, src_tree))
		os.makedirs(os.path.dirname(dest), exist_ok=True)
		open(dest, "w", encoding="utf-8").write(text)
	r2, p2 = extract(tmp)
	if p2 or not coverage(doc, r2) or not any(r[1] == "/api/v1/brand-new" for r in r2):
		problems.append("selftest: a new strcmp route in routes.c went unnoticed (%s)" % p2)
	# A path pattern the extractor does not know must fail loudly.
	with open(os.path.join(tree, "app", "routes.c"), "a", encoding="utf-8") as f:
		f.write('\nstatic int\nweird(const char *path)\n{\n\tif (path_is(path, "/api/v1/odd"))\n'
		        '\t\treturn 1;\n\treturn 0;\n}\n')
	_, p3 = extract(tmp)
	if not p3:
		problems.append("selftest: an unknown path idiom did not fail loudly")
	return problems


def main(argv):
	if len(argv) < 3:
		print(__doc__, file=sys.stderr)
		return 2
	cmd = argv[1]
	try:
		if cmd == "validate":
			doc = load_doc(argv[2])
			problems = validate(doc)
			n = sum(1 for _ in operations(doc))
			note = "%d operations, %d paths, %d schemas" % (n, len(doc.get("paths", {})),
			                                               len(doc["components"]["schemas"]))
		elif cmd == "routes":
			routes, problems = extract(argv[2])
			for meth, path, surf in sorted(routes, key=lambda r: (r[1], r[0])):
				print("%-6s %-45s %s" % (meth, path, ",".join(surf)))
			note = "%d routes" % len(routes)
		elif cmd == "coverage":
			doc = load_doc(argv[2])
			routes, problems = extract(argv[3])
			problems += coverage(doc, routes)
			note = "%d code routes, %d documented operations" % (
				len(routes), sum(1 for _ in operations(doc)))
		elif cmd == "operations":
			doc = load_doc(argv[2])
			for meth, path, tags in operations(doc):
				body = "requestBody" in doc["paths"][path][meth.lower()]
				print("%s %s %s %d" % (meth, path, ",".join(tags), int(body)))
			return 0
		elif cmd == "check-responses":
			problems, n = check_responses(load_doc(argv[2]), argv[3])
			for p in problems:
				print("FAIL: %s" % p)
			note = "%d answers" % n
		elif cmd == "selftest":
			import tempfile
			with tempfile.TemporaryDirectory(prefix="openapi-selftest.") as tmp:
				problems = selftest(load_doc(argv[2]), argv[3], tmp)
			note = "mutations caught"
		else:
			print(__doc__, file=sys.stderr)
			return 2
	except (Fail, OSError, yaml.YAMLError) as e:
		print("error: %s" % e, file=sys.stderr)
		return 1
	for p in problems:
		print("FAIL: %s" % p, file=sys.stderr)
	if problems:
		print("%s: %d problem(s)" % (cmd, len(problems)), file=sys.stderr)
		return 1
	print("%s: ok (%s)" % (cmd, note))
	return 0


if __name__ == "__main__":
	sys.exit(main(sys.argv))
