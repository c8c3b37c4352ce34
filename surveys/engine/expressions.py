"""A small, safe expression language for skip logic (``relevant``), validation (``constraint``)
and survey alerts (``when``). No ``eval``: a tokenizer and a recursive-descent parser build an
AST that is then evaluated against the answers.

Syntax::

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := sum (("=" | "==" | "!=" | "<" | "<=" | ">" | ">=") sum)?   # not chained
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-" unary | atom
    atom     := NUMBER | STRING | "true" | "false" | "." | NAME | call | "(" expr ")"
    call     := "selected" "(" ref "," expr ")" | "count" "(" ref ")" | "empty" "(" ref ")"
    ref      := NAME | "."

Semantics (evaluation never raises):

* ``NAME`` is the answer to an earlier question; unknown or unanswered names are ``None``.
  ``.`` is the candidate answer being validated (constraints only).
* Any comparison with ``None`` on either side is ``False`` (``!=`` too). Numbers compare with
  numbers, numeric strings are compared as numbers, ``'yes'``/``'no'`` compare equal to
  ``true``/``false``; other mixed types are unequal and unordered (``False``).
* Arithmetic on anything but numbers (or ``+`` on two strings), or division by zero, is ``None``.
* ``and``/``or``/``not`` use truthiness: ``None``, ``0``, ``''``, ``'no'``, ``'false'`` and empty
  lists are false. They always produce a bool.
* ``selected(q, 'v')``: ``'v'`` is among the values chosen for select_multiple ``q`` (or equals
  a select_one answer). ``count(q)``: number of repeat items / selected values (0 when
  unanswered, 1 for any other answer). ``empty(q)``: unanswered, ``''`` or an empty list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Expr", "ExpressionError", "Node", "parse", "truthy"]

MAX_DEPTH = 60
MAX_LENGTH = 1000
KEYWORDS = frozenset({"and", "or", "not", "true", "false"})
FUNCTIONS: dict[str, int] = {"selected": 2, "count": 1, "empty": 1}
RESERVED = KEYWORDS | FUNCTIONS.keys()
COMPARISONS = frozenset({"=", "==", "!=", "<", "<=", ">", ">="})
_OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/")
_FALSE_WORDS = frozenset({"", "no", "false"})


class ExpressionError(ValueError):
    """A syntax error. ``position`` is the 0-based offset of the offending character."""

    def __init__(self, message: str, source: str, position: int) -> None:
        self.message = message
        self.source = source
        self.position = position
        super().__init__(f"{message} at column {position + 1} of {source!r}")


# --------------------------------------------------------------------------- evaluation helpers


def truthy(value: Any) -> bool:
    """Truthiness used by ``and``/``or``/``not`` and by callers testing a condition."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip().casefold() not in _FALSE_WORDS
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, list | tuple | dict | set):
        return len(value) > 0
    return True


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _as_number(value: Any) -> int | float | None:
    number = _number(value)
    if number is not None:
        return number
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in ("yes", "true"):
            return True
        if word in ("no", "false"):
            return False
    return None


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    a: Any
    b: Any
    if isinstance(left, bool) or isinstance(right, bool):
        a, b = _as_bool(left), _as_bool(right)
        if a is None or b is None:
            return op == "!="
        if op not in ("=", "==", "!="):
            return False
    elif _number(left) is not None or _number(right) is not None:
        a, b = _as_number(left), _as_number(right)
        if a is None or b is None:
            return op == "!="
    elif isinstance(left, str) and isinstance(right, str):
        a, b = left, right
    else:
        a, b = left, right
        if op in ("=", "=="):
            return bool(a == b)
        if op == "!=":
            return bool(a != b)
        return False
    if op in ("=", "=="):
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _arith(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return None
    return a / b


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, list | tuple | dict | set):
        return len(value) == 0
    return False


# --------------------------------------------------------------------------------------- AST


class Node:
    """Base of the AST. Subclasses are immutable."""

    __slots__ = ()

    def evaluate(self, env: Mapping[str, Any], current: Any) -> Any:
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()

    def walk(self) -> Iterator[Node]:
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children()))


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any

    def evaluate(self, env: Mapping[str, Any], current: Any) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class Current(Node):
    def evaluate(self, env: Mapping[str, Any], current: Any) -> Any:
        return current


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str

    def evaluate(self, env: Mapping[str, Any], current: Any) -> Any:
        return env.get(self.name)


@dataclass(frozen=True, slots=True)
class Negate(Node):
    operand: Node

    def evaluate(self, env: Mapping[str, Any], current: Any) -> Any:
        number = _number(self.operand.evaluate(env, current))
        return None if number is None else -number

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def evaluate(self, env: Mapping[str, Any], current: Any) -> Any:
        return not truthy(self.operand.evaluate(env, current))

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node

    def evaluate(self, env: Mapping[str, Any], current: Any) -> Any:
        if self.op == "and":
            return truthy(self.left.evaluate(env, current)) and truthy(
                self.right.evaluate(env, current)
            )
        if self.op == "or":
            return truthy(self.left.evaluate(env, current)) or truthy(
                self.right.evaluate(env, current)
            )
        left = self.left.evaluate(env, current)
        right = self.right.evaluate(env, current)
        if self.op in COMPARISONS:
            return _compare(self.op, left, right)
        return _arith(self.op, left, right)

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]

    def evaluate(self, env: Mapping[str, Any], current: Any) -> Any:
        value = self.args[0].evaluate(env, current)
        if self.function == "count":
            if value is None or value == "":
                return 0
            return len(value) if isinstance(value, list | tuple) else 1
        if self.function == "empty":
            return _is_empty(value)
        wanted = self.args[1].evaluate(env, current)
        if wanted is None:
            return False
        if isinstance(value, list | tuple):
            return str(wanted) in [str(v) for v in value]
        if isinstance(value, str):
            return value == str(wanted)
        return False

    def children(self) -> tuple[Node, ...]:
        return self.args


# ------------------------------------------------------------------------------------ tokens


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # num, str, name, dot, op, (, ), ",", end
    value: Any
    pos: int

    def describe(self) -> str:
        if self.kind == "end":
            return "end of expression"
        if self.kind == "str":
            return f"string {self.value!r}"
        if self.kind == "num":
            return f"number {self.value!r}"
        return repr(self.value)


def _is_name_start(ch: str) -> bool:
    return ch == "_" or ch.isalpha()


def _is_name_char(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


def _tokenize(src: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if (ch.isdigit() and ch.isascii()) or (ch == "." and i + 1 < n and src[i + 1].isdigit()):
            while i < n and src[i].isascii() and src[i].isdigit():
                i += 1
            if i < n and src[i] == "." and i + 1 < n and src[i + 1].isdigit():
                i += 1
                while i < n and src[i].isascii() and src[i].isdigit():
                    i += 1
                value: Any = float(src[start:i])
            else:
                value = int(src[start:i])
            if i < n and _is_name_char(src[i]):
                raise ExpressionError("a name cannot start with a digit", src, start)
            tokens.append(_Token("num", value, start))
            continue
        if ch in "'\"":
            quote = ch
            i += 1
            chars: list[str] = []
            while i < n and src[i] != quote:
                if src[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(src[i])
                i += 1
            if i >= n:
                raise ExpressionError("unterminated string", src, start)
            i += 1
            tokens.append(_Token("str", "".join(chars), start))
            continue
        if _is_name_start(ch):
            while i < n and _is_name_char(src[i]):
                i += 1
            tokens.append(_Token("name", src[start:i], start))
            continue
        if ch == ".":
            tokens.append(_Token("dot", ".", start))
            i += 1
            continue
        if ch in "(),":
            tokens.append(_Token(ch, ch, start))
            i += 1
            continue
        for op in _OPERATORS:
            if src.startswith(op, i):
                tokens.append(_Token("op", op, start))
                i += len(op)
                break
        else:
            raise ExpressionError(f"unexpected character {ch!r}", src, start)
    tokens.append(_Token("end", None, n))
    return tokens


# ------------------------------------------------------------------------------------ parser


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.tokens = _tokenize(src)
        self.i = 0
        self.depth = 0

    # token helpers
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "end":
            self.i += 1
        return token

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "name" and token.value == word

    def is_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.value in ops

    def error(self, message: str, token: _Token | None = None) -> ExpressionError:
        return ExpressionError(message, self.src, (token or self.peek()).pos)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("expression is nested too deeply")

    # grammar
    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty expression")
        node = self.parse_or()
        token = self.peek()
        if token.kind != "end":
            raise self.error(f"unexpected {token.describe()}")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.is_word("or"):
            self.advance()
            node = Binary("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.is_word("and"):
            self.advance()
            node = Binary("and", node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.is_word("not"):
            self.advance()
            self.enter()
            node = Not(self.parse_not())
            self.depth -= 1
            return node
        return self.parse_compare()

    def parse_compare(self) -> Node:
        node = self.parse_sum()
        if self.is_op(*COMPARISONS):
            op = self.advance().value
            node = Binary(op, node, self.parse_sum())
            if self.is_op(*COMPARISONS):
                raise self.error("comparisons cannot be chained; join them with 'and'")
        return node

    def parse_sum(self) -> Node:
        node = self.parse_product()
        while self.is_op("+", "-"):
            op = self.advance().value
            node = Binary(op, node, self.parse_product())
        return node

    def parse_product(self) -> Node:
        node = self.parse_unary()
        while self.is_op("*", "/"):
            op = self.advance().value
            node = Binary(op, node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.is_op("-"):
            self.advance()
            self.enter()
            node = Negate(self.parse_unary())
            self.depth -= 1
            return node
        return self.parse_atom()

    def parse_atom(self) -> Node:
        token = self.peek()
        if token.kind in ("num", "str"):
            self.advance()
            return Literal(token.value)
        if token.kind == "dot":
            self.advance()
            return Current()
        if token.kind == "(":
            self.advance()
            self.enter()
            node = self.parse_or()
            self.depth -= 1
            if self.peek().kind != ")":
                raise self.error(f"expected ')' but found {self.peek().describe()}")
            self.advance()
            return node
        if token.kind == "name":
            word = token.value
            if word in ("true", "false"):
                self.advance()
                return Literal(word == "true")
            if word in KEYWORDS:
                raise self.error(f"expected a value but found {word!r}")
            self.advance()
            if self.peek().kind == "(":
                return self.parse_call(token)
            if word in FUNCTIONS:
                raise self.error(f"{word!r} is a function; call it like {word}(name)", token)
            return Name(word)
        raise self.error(f"expected a value but found {token.describe()}")

    def parse_call(self, name: _Token) -> Node:
        function = name.value
        if function not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.error(f"unknown function {function!r} (known: {known})", name)
        self.advance()  # "("
        self.enter()
        args: list[Node] = []
        if self.peek().kind != ")":
            args.append(self.parse_or())
            while self.peek().kind == ",":
                self.advance()
                args.append(self.parse_or())
        if self.peek().kind != ")":
            raise self.error(f"expected ')' but found {self.peek().describe()}")
        self.advance()
        self.depth -= 1
        arity = FUNCTIONS[function]
        if len(args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            raise self.error(f"{function}() takes {arity} {plural}, got {len(args)}", name)
        if not isinstance(args[0], Name | Current):
            raise self.error(
                f"{function}() needs a question name (or '.') as its first argument", name
            )
        return Call(function, tuple(args))


# ---------------------------------------------------------------------------------- public API


@dataclass(frozen=True, slots=True)
class Expr:
    """A parsed expression. Immutable and safe to share (``parse`` caches by source)."""

    source: str
    root: Node

    def evaluate(self, env: Mapping[str, Any], current: Any = None) -> Any:
        """Evaluate against ``env`` (answers by name); ``current`` is what ``.`` means.

        Never raises: anything unexpected evaluates to ``None``.
        """
        try:
            return self.root.evaluate(env, current)
        except Exception:
            return None

    def test(self, env: Mapping[str, Any], current: Any = None) -> bool:
        """``truthy(evaluate(...))``: the result as a condition."""
        return truthy(self.evaluate(env, current))

    def names(self) -> set[str]:
        """Names of the answers the expression reads (``.`` not included)."""
        return {node.name for node in self.root.walk() if isinstance(node, Name)}

    def uses_current(self) -> bool:
        """Whether ``.`` appears anywhere."""
        return any(isinstance(node, Current) for node in self.root.walk())

    def selected_values(self) -> set[tuple[str, str]]:
        """(question name, literal value) pairs of ``selected(name, 'value')`` calls."""
        out: set[tuple[str, str]] = set()
        for node in self.root.walk():
            if (
                isinstance(node, Call)
                and node.function == "selected"
                and isinstance(node.args[0], Name)
                and isinstance(node.args[1], Literal)
            ):
                out.add((node.args[0].name, str(node.args[1].value)))
        return out

    def __str__(self) -> str:
        return self.source


@lru_cache(maxsize=2048)
def parse(src: str) -> Expr:
    """Parse ``src``; raises :class:`ExpressionError` (with position) on a syntax error."""
    if not isinstance(src, str):
        raise ExpressionError("expression must be a string", repr(src), 0)
    if len(src) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", src[:40], 0)
    try:
        root = _Parser(src).parse()
    except RecursionError:
        raise ExpressionError("expression is nested too deeply", src, 0) from None
    return Expr(src, root)
