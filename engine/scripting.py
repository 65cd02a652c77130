"""Restricted evaluation of the Python expressions and scripts embedded in BPMN.

SpiffWorkflow's default script engine runs ``eval``/``exec`` with full builtins, so anyone who can edit a
procedure in the browser could run arbitrary code on the server. This module replaces it.

* The code itself is restricted (RestrictedPython), not only the builtins: names and attributes starting
  with ``_`` are refused at compile time and again at run time (``getattr``), which closes the usual
  ``().__class__.__mro__`` / ``f.__globals__`` / ``gi_frame`` walks; ``import``, classes, ``eval``,
  ``exec``, ``open``... are refused at compile time, ``type()`` and ``iter(f, sentinel)`` at run time.
* Run time is bounded: a guard call is injected into every loop body, comprehension and function entry;
  it counts iterations and checks a monotonic deadline. Once tripped it keeps tripping, so a script that
  catches the error cannot go on, and the refusal is re-raised when the run ends.
* Amplifying operations (``*``, ``**``, ``<<``, ``+``, ``%``, ``str.join``/``ljust``/``replace``...,
  ``list.extend``, f-string widths, ``range``) check the size of their result *before* building it;
  slice assignment is refused; what a script stores in task data is bounded too.

Not covered in-process: one C-level operation cannot be interrupted (e.g. ``str()`` of an aliased, deeply
nested list) and total memory is only bounded indirectly (object size x iterations x time). Workers that
run procedures should also have an OS memory limit (cgroup or ``RLIMIT_AS``).
"""

from __future__ import annotations

import ast
import builtins
import datetime as _dt
import functools
import operator
import re
import time
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence, safe_builtins
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

__all__ = ["RestrictedEnvironment", "RestrictedEvaluator", "RestrictedScriptEngine", "ScriptRefused"]

_FILENAME = "<string>"  # SpiffWorkflow finds the failing script line through frames of this file name
_SIZED = (str, bytes, list, tuple)
_MAX_INT_BITS = 1 << 16  # ~19,700 digits: far beyond any fee or count, and division stays cheap
_DENIED_ATTRS = INSPECT_ATTRIBUTES | {"format", "format_map", "mro", "to_bytes", "translate", "maketrans"}
# Never legitimate in a procedure: refused at compile time so the procedure validator reports them.
_FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "globals", "locals", "vars", "open", "input", "breakpoint", "help", "dir",
    "exit", "quit", "super", "object", "memoryview", "bytearray", "setattr", "delattr", "classmethod",
    "staticmethod", "property"})
_SAFE_BUILTINS = ("abs", "bool", "chr", "divmod", "float", "hex", "int", "isinstance", "len", "oct", "ord",
                  "repr", "round", "str")
# BaseException, SystemExit, KeyboardInterrupt and GeneratorExit could stop a worker: not exposed.
_EXCEPTIONS = ("ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError", "KeyError",
               "LookupError", "NameError", "NotImplementedError", "OverflowError", "RecursionError",
               "RuntimeError", "StopIteration", "TypeError", "UnicodeError", "ValueError", "ZeroDivisionError")
_BINOP_GUARDS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_"}
_RUN_GUARDS = frozenset({"_tick_", "_deadline_", "_getiter_"})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_VI_PROBLEMS = (
    ("Error:", "lỗi cú pháp"),
    ('starts with "_"', 'không được dùng tên hoặc thuộc tính bắt đầu bằng dấu "_"'),
    ("import", "không được dùng lệnh import"),
    ("restricted name", "không được truy cập thuộc tính nội bộ của Python"),
    ("calls are not allowed", "không được gọi eval/exec"),
    ("is not available", "hàm này bị cấm trong biểu thức/kịch bản"),
    ("ClassDef", "không được định nghĩa lớp (class)"),
    ("slice assignment", "không được gán theo lát cắt (slice); hãy tạo danh sách mới"))
_C_IMPORTS = frozenset({"time", "_strptime"})
_MISSING = object()


class ScriptRefused(Exception):
    """Code refused at compile time or stopped at run time by the sandbox.

    ``str()`` is English, for logs; ``message_vi`` is what the officer editing or running the procedure
    sees. ``source`` and ``line`` locate the offending code when known.
    """

    def __init__(self, message: str, message_vi: str, *, source: str | None = None,
                 line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.message_vi, self.source, self.line = message, message_vi, source, line

    def __reduce__(self) -> tuple[Any, ...]:  # keeps message_vi when pickled (e.g. by Celery)
        return type(self), (self.message, self.message_vi), {"source": self.source, "line": self.line}


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus: no imports, classes or dangerous names; guard calls injected into
    loops, comprehensions and functions; size-checked helper calls instead of amplifying operators."""

    def _call(self, name: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
        call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
        copy_locations(call, where)
        return call

    def _stmt(self, name: str, where: ast.AST) -> ast.Expr:
        stmt = ast.Expr(self._call(name, [], where))
        copy_locations(stmt, where)
        return stmt

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.error(node, "import statements are not allowed.")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.not_allowed(node)

    def visit_Name(self, node: ast.Name) -> Any:
        if isinstance(node.ctx, ast.Load) and node.id in _FORBIDDEN_NAMES:
            self.error(node, f'"{node.id}" is not available in scripts.')
        return super().visit_Name(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        return node if guard is None else self._call(guard, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        # ``d['k'] += 1`` is common in procedures but refused by RestrictedPython: rewrite the simple,
        # side-effect-free form to ``d['k'] = d['k'] + 1`` so the ordinary guards apply.
        target = node.target
        if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                and isinstance(target.slice, (ast.Constant, ast.Name))):
            load = ast.Subscript(ast.Name(target.value.id, ast.Load()), target.slice, ast.Load())
            new = ast.Assign(targets=[target], value=ast.BinOp(load, node.op, node.value))
            copy_locations(load, target)
            copy_locations(new, node)
            return self.visit(new)
        return super().visit_AugAssign(node)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        if isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):  # l[:0] = l doubles l
            self.error(node, "slice assignment is not allowed.")
        return super().visit_Subscript(node)

    def visit_While(self, node: ast.While) -> Any:
        node = self.node_contents_visit(node)
        node.body.insert(0, self._stmt("_tick_", node))
        return node

    def visit_For(self, node: ast.For) -> Any:
        node = self.guard_iter(node)
        node.body.insert(0, self._stmt("_tick_", node))
        return node

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        node = self.guard_iter(node)
        node.ifs.insert(0, self._call("_tick_", [], node.iter))  # _tick_() is always true
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:  # recursion does not loop but takes time
        node = super().visit_FunctionDef(node)
        node.body.insert(0, self._stmt("_deadline_", node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        node.body = ast.BoolOp(ast.Or(), [self._call("_deadline_", [], node.body), node.body])
        copy_locations(node.body, node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = self.node_contents_visit(node)
        if node.format_spec is not None:  # f"{x:>1000000000}" builds a huge string
            node.value = self._call("_fmt_", [node.value, ast.Constant(node.conversion), node.format_spec], node)
            node.conversion, node.format_spec = -1, None
        return node


class _Compiled(NamedTuple):
    code: types.CodeType | None
    errors: tuple[str, ...]
    uses_guards: bool
    needs_run: bool


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> _Compiled:
    """Compile once per distinct source text: gateway conditions are evaluated again and again."""
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source, filename=_FILENAME, policy=_Policy)
    if result.errors or result.code is None:
        return _Compiled(None, tuple(result.errors) or ("compilation failed",), False, False)
    guards = {name for name in _names(result.code) if name.startswith("_") and name.endswith("_")}
    return _Compiled(result.code, (), bool(guards), bool(guards & _RUN_GUARDS))


def _explain_vi(problems: Iterable[str]) -> str:
    parts = []
    for problem in problems:
        line = re.match(r"Line (\d+)", problem)
        reason = next((vi for key, vi in _VI_PROBLEMS if key in problem), "câu lệnh không được phép")
        parts.append(f"dòng {line.group(1)}: {reason}" if line else reason)
    return "Biểu thức/kịch bản bị từ chối — " + "; ".join(parts) + "."


class _Run:
    """Budget of one evaluation: loop iterations and a deadline. Once exceeded, every check fails."""

    __slots__ = ("deadline", "left", "stopped", "time_limit", "max_iterations")

    def __init__(self, time_limit: float, max_iterations: int) -> None:
        self.deadline = time.monotonic() + time_limit
        self.left, self.stopped = max_iterations, None
        self.time_limit, self.max_iterations = time_limit, max_iterations

    def check_deadline(self) -> None:
        if self.left >= 0 and time.monotonic() <= self.deadline:
            return
        if self.left < 0:
            err = ScriptRefused(f"Stopped after {self.max_iterations} loop iterations",
                                f"Kịch bản lặp quá {self.max_iterations} lần và đã bị dừng.")
        else:
            err = ScriptRefused(f"Stopped after exceeding the time limit of {self.time_limit} s",
                                f"Kịch bản chạy quá thời gian cho phép ({self.time_limit} giây) và đã bị dừng.")
        self.stopped = self.stopped or err
        raise err

    def tick(self) -> bool:
        self.left -= 1
        self.check_deadline()
        return True

    def getiter(self, ob: Any) -> Any:
        self.check_deadline()
        return iter(ob)


def _grow(ev: RestrictedEvaluator, name: str, obj: Any, *args: Any) -> Any:
    """Size-checked ``str``/``bytes``/``list`` methods whose result can dwarf their input."""
    if name in ("join", "extend"):
        items = args[0] if isinstance(args[0], _SIZED) else list(args[0])
        args = (items, *args[1:])
        if name == "join":
            size = sum(len(i) for i in items if isinstance(i, _SIZED)) + len(obj) * len(items)
        else:
            size = len(obj) + len(items)
    elif name == "replace":
        old, new, count = (*args, -1)[:3]
        hits = obj.count(old) if old else len(obj) + 1
        size = len(obj) + (hits if count < 0 else min(hits, count)) * max(len(new) - len(old), 0)
    elif name == "expandtabs":
        size = len(obj) + obj.count("\t" if isinstance(obj, str) else b"\t") * (args[0] if args else 8)
    else:  # ljust, rjust, center, zfill
        size = args[0] if args and isinstance(args[0], int) else 0
    ev._size(size)
    return getattr(obj, name)(*args)


_STR_GROWING = frozenset({"join", "ljust", "rjust", "center", "zfill", "expandtabs", "replace"})
_GROWING = {str: _STR_GROWING, bytes: _STR_GROWING, list: frozenset({"extend"})}


def _guarded(check: Callable[..., None], op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def guard(self: RestrictedEvaluator, a: Any, b: Any) -> Any:
        check(self, a, b)
        return op(a, b)
    return guard


class RestrictedEvaluator:
    """Compiles (RestrictedPython, cached) and runs procedure expressions and scripts within limits.

    ``time_limit`` (seconds) and ``max_iterations`` (all loops and comprehensions together) bound one
    evaluation; ``max_size`` bounds every string/list/tuple/range the code builds (elements or characters)
    and the number of values a script stores into task data. ``functions`` are extra helpers offered to
    the code; names must not start with ``_``.
    """

    def __init__(self, *, time_limit: float = 1.0, max_iterations: int = 1_000_000, max_size: int = 1_000_000,
                 functions: dict[str, Callable[..., Any]] | None = None) -> None:
        if time_limit <= 0 or max_iterations <= 0 or max_size <= 0:
            raise ValueError("time_limit, max_iterations and max_size must be positive")
        bad = [name for name in functions or {} if not name.isidentifier() or name.startswith("_")]
        if bad:
            raise ValueError(f"helper names must be identifiers not starting with '_': {bad}")
        self.time_limit, self.max_iterations, self.max_size = time_limit, max_iterations, max_size
        self._builtins: dict[str, Any] = {name: safe_builtins[name] for name in _SAFE_BUILTINS}
        self._builtins.update({name: getattr(builtins, name) for name in _EXCEPTIONS})
        self._builtins.update(
            list=list, tuple=tuple, dict=dict, set=set, frozenset=frozenset, sorted=sorted, reversed=reversed,
            min=min, max=max, any=any, all=all, enumerate=enumerate, zip=zip, map=map, filter=filter, next=next,
            datetime=_dt.datetime, date=_dt.date, timedelta=_dt.timedelta, timezone=_dt.timezone,
            sum=self._sum, pow=self._pow, range=self._range, getattr=self._getattr, iter=self._iter,
            type=self._no_type, __import__=_internal_import, **(functions or {}))
        self._guards: dict[str, Any] = {
            "_getattr_": self._getattr, "_getitem_": operator.getitem, "_write_": self._write,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
            "_inplacevar_": self._inplacevar, "_apply_": _apply, "_print_": _DiscardPrint, "_mul_": self._mul,
            "_pow_": self._pow, "_lshift_": self._lshift, "_add_": self._add, "_mod_": self._mod,
            "_fmt_": self._fmt}

    def check(self, source: str, mode: str = "exec") -> list[str]:
        """Compile-time problems (syntax, forbidden names/attributes/imports); empty when the code is fine.

        Lets the procedure validator report a bad expression when the procedure is saved rather than when
        a citizen's dossier reaches it."""
        if mode not in ("exec", "eval"):
            raise ValueError("mode must be 'exec' or 'eval'")
        return list(_compile(source.strip() if mode == "eval" else source, mode).errors)

    def evaluate(self, expression: str, context: Mapping[str, Any], *,
                 external_context: Mapping[str, Any] | None = None) -> Any:
        """Value of ``expression`` with the task data as variables; ``context`` gets no new or rebound keys.
        ``external_context`` (BPMN data objects) is visible but shadowed by task data, as in SpiffWorkflow."""
        source = expression.strip()
        compiled = self._compiled(source, "eval")
        ns, run = self._namespace(compiled, context, external_context)
        result = self._run(compiled, ns, run, source)
        if isinstance(result, (list, tuple, dict, set, frozenset)):
            self._check_nodes([result])
        return result

    def execute(self, script: str, context: dict[str, Any], *,
                external_context: Mapping[str, Any] | None = None) -> None:
        """Run a script task: its top-level assignments and ``del`` land in ``context``; functions it defines,
        helpers and builtins do not. If the script fails, no top-level assignment is stored."""
        if not script or not script.strip():
            return
        compiled = self._compiled(script, "exec")
        ns, run = self._namespace(compiled, context, external_context)
        self._run(compiled, ns, run, script)
        external = external_context or {}
        results = {
            key: value for key, value in ns.items()
            if not (isinstance(key, str) and key.startswith("_"))
            and not (callable(value) or isinstance(value, types.GeneratorType))
            and not (key in external and key not in context and external[key] is value)}
        self._check_nodes(results.values())
        for key in [key for key in context if key not in ns]:
            del context[key]
        context.update(results)

    def _compiled(self, source: str, mode: str) -> _Compiled:
        compiled = _compile(source, mode)
        if compiled.code is None:
            line = re.match(r"Line (\d+)", compiled.errors[0])
            raise ScriptRefused("; ".join(compiled.errors), _explain_vi(compiled.errors), source=source,
                                line=int(line.group(1)) if line else None)
        return compiled

    def _namespace(self, compiled: _Compiled, context: Mapping[str, Any],
                   external: Mapping[str, Any] | None) -> tuple[dict[str, Any], _Run | None]:
        ns = {**external, **context} if external else dict(context)
        ns["__builtins__"] = self._builtins
        run = None
        if compiled.uses_guards:  # set after the task data, so no data key can replace a guard
            ns.update(self._guards)
            if compiled.needs_run:
                run = _Run(self.time_limit, self.max_iterations)
                ns.update(_tick_=run.tick, _deadline_=run.check_deadline, _getiter_=run.getiter)
        return ns, run

    def _run(self, compiled: _Compiled, ns: dict[str, Any], run: _Run | None, source: str) -> Any:
        try:
            result = eval(compiled.code, ns)  # noqa: S307 - restricted code object and namespace
        except ScriptRefused as err:
            _locate(err, source)
            raise
        except Exception:
            if run is not None and run.stopped is not None:  # the script swallowed a stop, then failed
                raise _locate(run.stopped, source) from None
            raise
        if run is not None and run.stopped is not None:  # the script swallowed a stop and finished
            raise _locate(run.stopped, source)
        return result

    def _size(self, n: int) -> None:
        if n > self.max_size:
            raise ScriptRefused(f"Result too large: {n} elements/characters (limit {self.max_size})",
                                f"Kết quả quá lớn ({n} phần tử/ký tự, giới hạn {self.max_size}); bị từ chối.")

    def _check_nodes(self, values: Iterable[Any]) -> None:
        """Aliasing (``[x] * n`` of a big ``x``) makes small objects serialize huge: bound the value count."""
        stack, seen = list(values), 0
        while stack:
            value = stack.pop()
            seen += 1
            if seen > self.max_size:
                raise ScriptRefused(f"Result holds more than {self.max_size} values (or refers to itself)",
                                    f"Kết quả chứa quá {self.max_size} giá trị (hoặc tự tham chiếu); bị từ chối.")
            if isinstance(value, dict):
                stack.extend(value.keys())
                stack.extend(value.values())
            elif isinstance(value, (list, tuple, set, frozenset)):
                stack.extend(value)

    @staticmethod
    def _bits(n: int) -> None:
        if n > _MAX_INT_BITS:
            raise ScriptRefused(f"Number too large: about {n} bits (limit {_MAX_INT_BITS})",
                                f"Số quá lớn (khoảng {n} bit, giới hạn {_MAX_INT_BITS}); bị từ chối.")

    def _check_mul(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int):
            self._bits(a.bit_length() + b.bit_length())
        elif isinstance(a, _SIZED) and isinstance(b, int):
            self._size(len(a) * b)
        elif isinstance(b, _SIZED) and isinstance(a, int):
            self._size(len(b) * a)

    def _check_pow(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and b > 1 and abs(a) > 1:
            self._bits(a.bit_length() * b)

    def _check_lshift(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and b > 0 and a:
            self._bits(a.bit_length() + b)

    def _check_add(self, a: Any, b: Any) -> None:
        if isinstance(a, _SIZED) and isinstance(b, _SIZED):
            self._size(len(a) + len(b))

    def _check_mod(self, a: Any, b: Any) -> None:
        if isinstance(a, (str, bytes)):  # printf-style formatting: widths and arguments add up
            fmt = a if isinstance(a, str) else a.decode("latin-1")
            total = len(fmt)
            for width, precision in _PERCENT_SPEC.findall(fmt):
                if "*" in (width, precision):
                    raise ScriptRefused("'*' widths are not allowed in % formatting",
                                        "Không được dùng độ rộng '*' khi định dạng bằng %.")
                total += sum(_number(n) for n in (width, precision) if n)
            args = b.values() if isinstance(b, Mapping) else b if isinstance(b, tuple) else (b,)
            self._size(total + sum(len(arg) for arg in args if isinstance(arg, _SIZED)))

    _mul = _guarded(_check_mul, operator.mul)
    _lshift = _guarded(_check_lshift, operator.lshift)
    _add = _guarded(_check_add, operator.add)
    _mod = _guarded(_check_mod, operator.mod)
    _INPLACE = {"+=": (_check_add, operator.iadd), "*=": (_check_mul, operator.imul),
                "**=": (_check_pow, operator.ipow), "<<=": (_check_lshift, operator.ilshift),
                "%=": (_check_mod, operator.imod), "-=": (None, operator.isub), "/=": (None, operator.itruediv),
                "//=": (None, operator.ifloordiv), ">>=": (None, operator.irshift), "|=": (None, operator.ior),
                "&=": (None, operator.iand), "^=": (None, operator.ixor), "@=": (None, operator.imatmul)}

    def _pow(self, a: Any, b: Any, mod: Any = None) -> Any:
        if mod is not None:
            return pow(a, b, mod)
        self._check_pow(a, b)
        return a**b

    def _inplacevar(self, op: str, x: Any, y: Any) -> Any:
        check, apply = self._INPLACE[op]
        if check is not None:
            check(self, x, y)
        return apply(x, y)

    def _fmt(self, value: Any, conversion: int, spec: str) -> str:
        for number in re.findall(r"\d+", spec):
            self._size(_number(number))
        if conversion != -1:
            value = {115: str, 114: repr, 97: ascii}[conversion](value)
        return format(value, spec)

    def _getattr(self, obj: Any, name: str, default: Any = _MISSING) -> Any:
        if not isinstance(name, str):
            raise TypeError("attribute name must be a string")
        if name.startswith("_") or name in _DENIED_ATTRS:
            raise ScriptRefused(f"Access to attribute {name!r} is not allowed",
                                f"Không được truy cập thuộc tính “{name}”.")
        if name in _GROWING.get(obj if isinstance(obj, type) else type(obj), ()):
            # A closure, not functools.partial: a partial's .args would hand the evaluator to the script.
            bound = () if isinstance(obj, type) else (obj,)  # str.join(sep, items) or sep.join(items)
            return lambda *args: _grow(self, name, *bound, *args)
        return getattr(obj, name) if default is _MISSING else getattr(obj, name, default)

    @staticmethod
    def _write(obj: Any) -> Any:
        if type(obj) in (dict, list):  # slice assignment, which could grow a list, is refused at compile time
            return obj
        raise ScriptRefused(f"Objects of type {type(obj).__name__} cannot be modified",
                            f"Không được sửa đối tượng kiểu {type(obj).__name__}; chỉ sửa được dict và list.")

    @staticmethod
    def _sum(iterable: Iterable[Any], start: Any = 0) -> Any:
        if not isinstance(start, (int, float)):  # sum(lists, []) is quadratic and unbounded
            raise ScriptRefused("sum() only adds numbers", "Hàm sum() chỉ dùng để cộng các số.")
        return sum(iterable, start)

    def _range(self, *args: int) -> range:
        result = range(*args)
        try:
            self._size(len(result))
        except OverflowError:
            self._size(self.max_size + 1)
        return result

    @staticmethod
    def _iter(obj: Any, *sentinel: Any) -> Any:
        if sentinel:  # iter(callable, sentinel) gives C code (list, sum...) an endless iterator
            raise ScriptRefused("iter(callable, sentinel) is not allowed",
                                "Không được dùng iter(hàm, giá_trị_dừng) vì có thể lặp vô hạn.")
        return iter(obj)

    @staticmethod
    def _no_type(*args: Any) -> None:
        raise ScriptRefused("type() is not available; use isinstance()",
                            "Không được dùng type(); hãy dùng isinstance().")


class _DiscardPrint:
    """``print`` works but its output is dropped: collecting it would let a loop of prints fill memory."""

    def __init__(self, _getattr_: Any = None) -> None:
        pass

    def __call__(self) -> str:  # the value of ``printed``
        return ""

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        pass


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _internal_import(name: str, *args: Any, **kwargs: Any) -> Any:
    """C code (``date.today``, ``strftime``, ``strptime``) imports through the caller's builtins.
    Scripts cannot name ``__import__`` (leading underscore) and ``import`` is refused at compile time."""
    if name not in _C_IMPORTS:
        raise ImportError(f"import of {name!r} is not allowed")
    return builtins.__import__(name, *args, **kwargs)


def _number(digits: str) -> int:
    return int(digits) if len(digits) < 10 else 10**10


def _locate(err: ScriptRefused, source: str) -> ScriptRefused:
    """Record the source and the script line (innermost script frame) the refusal happened on."""
    err.source = err.source or source
    tb, line = err.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    err.line = err.line or line
    return err


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow environment that sends every expression and script through a RestrictedEvaluator."""

    def __init__(self, evaluator: RestrictedEvaluator | None = None) -> None:
        super().__init__({})
        self.evaluator = evaluator or RestrictedEvaluator()

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        return self.evaluator.evaluate(expression, context, external_context=external_context)

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        self.evaluator.execute(script, context, external_context=external_context)
        return True  # SpiffWorkflow takes a falsy result to mean "task not finished"


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine for BpmnWorkflow whose script tasks, gateway conditions, pre/post scripts and
    service task parameters all run in the sandbox. A refusal surfaces, as other script errors do, as a
    WorkflowTaskException (which names the task) whose ``__cause__`` is the ScriptRefused; its
    ``message_vi`` is copied onto the WorkflowTaskException."""

    def __init__(self, evaluator: RestrictedEvaluator | None = None) -> None:
        super().__init__(environment=RestrictedEnvironment(evaluator))
        self.evaluator: RestrictedEvaluator = self.environment.evaluator

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as wte:
            _attach_refusal(wte)
            raise

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return super().execute(task, script, external_context)
        except WorkflowTaskException as wte:
            _attach_refusal(wte)
            raise


def _attach_refusal(wte: WorkflowTaskException) -> None:
    refusal = wte.__context__
    if isinstance(refusal, ScriptRefused):
        wte.__cause__ = refusal
        wte.message_vi = refusal.message_vi
        if not wte.line_number and refusal.line:
            wte.line_number = refusal.line
            lines = (refusal.source or "").splitlines()
            wte.error_line = lines[refusal.line - 1] if refusal.line <= len(lines) else ""
