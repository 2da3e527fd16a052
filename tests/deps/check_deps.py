#!/usr/bin/python3
"""Every Python module and every executable that repairbench's tests, tools and
scripts use must be installed by scripts/setup.sh.

On a developer's machine a package installed by hand hides a missing install
step, and CI runs on that machine; only a fresh machine shows it, by failing.
This check makes the omission visible anywhere: it reads

  - every Python file under tools/ and tests/, the Python programs embedded in
    shell here-documents and `python3 -c '...'`, and the ones C++ tests write
    out as string literals: each `import` / `from` line's top-level module;
  - every shell script the tests, tools and make targets run (tests/, scripts/,
    datasets/, .ci/run): the command word of each simple command;
  - every C++ test's std::system / popen command: its program;
  - the Makefile's recipe lines: their programs;

maps each module and program to the Debian package that provides it, and fails
naming the file, the module or program and the package when that package is
not in setup.sh's `packages` list. A module or program that is in no table
below fails too, asking for its package to be added to the table and to
setup.sh, so nothing new slips through unmapped.

Usage: /usr/bin/python3 tests/deps/check_deps.py [--self-test] [REPO_ROOT]
(--self-test: takes packages out of setup.sh's list and checks that the
failures name them.)
Only the standard library is used, so it runs on a machine where setup.sh has
installed nothing yet.
"""
import pathlib
import re
import sys

# Third-party Python modules -> the Debian package that provides them.
PYTHON_PACKAGES = {
    "torch": "python3-torch",
    "torchvision": "python3-torchvision",
    "numpy": "python3-numpy",
    "scipy": "python3-scipy",
}

# Programs -> the Debian package that provides them. Builtins and keywords of
# bash are in SHELL_BUILTINS instead.
PROGRAM_PACKAGES = {
    **{p: "coreutils" for p in (
        "basename", "cat", "chmod", "cp", "cut", "date", "dirname", "du", "env", "head", "id", "ln",
        "ls", "mkdir", "mktemp", "mv", "nproc", "readlink", "realpath", "rm", "seq", "sha1sum",
        "sleep", "sort", "stat", "tail", "tee", "timeout", "touch", "tr", "uniq", "wc")},
    "bash": "bash",
    "grep": "grep",
    "sed": "sed",
    "tar": "tar",
    "gzip": "gzip",
    "cmp": "diffutils",
    "diff": "diffutils",
    "find": "findutils",
    "xargs": "findutils",
    "flock": "util-linux",
    "setpriv": "util-linux",
    "python3": "python3",
    "npm": "npm",
    "cmake": "cmake",
    "ctest": "cmake",
    "ninja": "ninja-build",
    "git": "git",
    "make": "make",
    "dpkg-query": "dpkg",
    "apt-get": "apt",
    "update-alternatives": "dpkg",
    "clang++-14": "clang-14",
    "pkill": "procps",
    "ps": "procps",
}

SHELL_BUILTINS = {
    ".", ":", "[", "[[", "]]", "!", "{", "}", "(", ")", "alias", "break", "case", "cd", "command",
    "continue", "declare", "do", "done", "echo", "elif", "else", "esac", "eval", "exec", "exit",
    "export", "false", "fi", "for", "function", "if", "in", "kill", "let", "local", "printf",
    "pwd", "read", "readonly", "return", "select", "set", "shift", "source", "test", "then",
    "time", "trap", "true", "type", "unset", "until", "wait", "while",
}

# Names Python itself provides (the python3 package): the standard library.
STDLIB = set(sys.stdlib_module_names)


def setup_packages(text):
    """The package names of setup.sh's `packages=( ... )` array."""
    match = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M)
    if not match:
        raise SystemExit("check_deps: scripts/setup.sh has no packages=( ... ) array")
    names = set()
    for line in match.group(1).splitlines():
        names.update(line.split("#", 1)[0].split())
    return names


def setup_commands(text):
    """Programs setup.sh installs when missing from PATH (its `commands` array
    of program:package entries)."""
    match = re.search(r"^commands=\((.*?)^\)", text, re.S | re.M)
    names = set()
    for line in (match.group(1).splitlines() if match else []):
        names.update(entry.split(":")[0] for entry in line.split("#", 1)[0].split())
    return names


def python_imports(source):
    """Top-level module names imported by a Python program, with line numbers."""
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        m = re.match(r"\s*(?:import\s+([\w.]+(?:\s*,\s*[\w.]+)*)|from\s+([\w.]+)\s+import\b)", line)
        if not m:
            continue
        if m.group(1):
            for name in m.group(1).split(","):
                found.append((number, name.strip().split(".")[0]))
        elif not m.group(2).startswith("."):
            found.append((number, m.group(2).split(".")[0]))
    # `python3 -c '...; import socket; ...'` puts imports after semicolons.
    for number, line in enumerate(source.splitlines(), 1):
        for m in re.finditer(r";\s*import\s+(\w+)", line):
            found.append((number, m.group(1)))
    return found


def local_modules(root):
    """Modules that are files of this repository (imported by its scripts)."""
    return {p.stem for p in root.rglob("*.py") if "build" not in p.parts}


def skeleton(text, subs):
    """`text` with its quoted words reduced to placeholders (Q for literal text,
    $V for one that starts with an expansion) and $((...)) to 0; the bodies of
    command substitutions $(...) are appended to `subs` and stand as $V."""
    out, i, n = [], 0, len(text)

    def substitution(j):
        # j is just after "$("; returns the index after the matching ")".
        depth, k, quote = 1, j, None
        while k < n and depth:
            c = text[k]
            if quote:
                if c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            k += 1
        subs.append(text[j:k - 1])
        return k

    while i < n:
        c = text[i]
        if c == "\\":
            out.append(text[i:i + 2])
            i += 2
        elif c == "'":
            j = text.find("'", i + 1)
            i = n if j < 0 else j + 1
            out.append("Q")
        elif text.startswith("$((", i):
            j = text.find("))", i)
            i = n if j < 0 else j + 2
            out.append("0")
        elif text.startswith("$(", i):
            i = substitution(i + 2)
            out.append("$V")
        elif text.startswith("((", i):              # an arithmetic command
            j = text.find("))", i)
            i = n if j < 0 else j + 2
            out.append("0")
        elif c == '"':
            j = i + 1
            expansion = text.startswith("$", j)
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    j += 2
                    continue
                if text.startswith("$((", j):
                    k = text.find("))", j)
                    j = n if k < 0 else k + 2
                elif text.startswith("$(", j):
                    j = substitution(j + 2)
                else:
                    j += 1
            i = j + 1
            out.append("$V" if expansion else "Q")
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n;"):
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


SEPARATORS = re.compile(r"\|\||&&|;;|[|;&(){}\n]|\b(?:then|do|else|elif|if|while|until)\b|!\s")
WRAPPERS = ("timeout", "nice", "env", "exec", "command", "time")


def command_words(text, functions):
    """The program of each simple command of a bash fragment."""
    subs, found = [], []
    for part in SEPARATORS.split(skeleton(text, subs)):
        words = part.split()
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=", words[0]):
            words.pop(0)                            # VAR=value before the command
        while words and words[0] in WRAPPERS:
            wrapper = words.pop(0)
            if wrapper == "command" and words[:1] == ["-v"]:
                words = words[1:2]                  # `command -v npm` asks for npm
                break
            if wrapper in ("timeout", "nice", "env"):
                found.append(wrapper)
            while words and (words[0].startswith("-") or re.match(r"^[\d.]+[smhd]?$", words[0])
                             or re.match(r"^\w+=", words[0])):
                words.pop(0)
        if not words:
            continue
        word = words[0]
        if word.startswith("$") and len(words) > 1 and words[1] in PROGRAM_PACKAGES:
            word = words[1]                         # `$sudo apt-get ...`
        if (word in SHELL_BUILTINS or word in functions or word.startswith(("$", "-", "*", "<", ">"))
                or word in ("Q", "0") or word.isdigit()):
            continue
        found.append(word)
    for sub in subs:
        found.extend(command_words(sub, functions))
    return found


def shell_commands(source):
    """(line, program) for the command word of each simple command of a bash
    script, and (line, text) of the Python programs of its here-documents and
    `python3 -c` arguments."""
    commands, programs = [], []
    functions = set(re.findall(r"^\s*(?:function\s+)?([\w-]+)\s*\(\)", source, re.M))
    lines = source.splitlines()
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        i += 1
        while line.endswith("\\") and i < len(lines):   # continued lines
            line = line[:-1] + " " + lines[i]
            i += 1
        array = re.match(r"^\s*\w+=\(", line)
        if array:                                   # an array literal holds words, not commands
            while ")" not in skeleton(line, []) and i < len(lines):
                line += "\n" + lines[i]
                i += 1
            continue
        heredoc = re.search(r"<<-?\s*'?(\w+)'?", line)
        if heredoc:
            body = []
            while i < len(lines) and lines[i].strip() != heredoc.group(1):
                body.append(lines[i])
                i += 1
            i += 1
            if "python3" in line:
                programs.append((number, "\n".join(body)))
            line = line[:heredoc.start()] + line[heredoc.end():]
        for m in re.finditer(r"python3\s+-c\s+'([^']*)'", line):
            programs.append((number, m.group(1)))
        # A `case` branch's pattern ("report)", "*openblas*)") is no command.
        line = re.sub(r"^\s*[\w*.|\"'$-]+\)", "", line)
        for word in command_words(line, functions):
            commands.append((number, word))
    return commands, programs


def cpp_commands(source):
    """(line, program) of each std::system / popen command in a C++ file, and
    (line, program) of Python programs written out as string literals."""
    commands, programs = [], []
    for m in re.finditer(r"\b(?:std::)?(?:system|popen)\s*\(", source):
        start = m.end()
        number = source.count("\n", 0, start) + 1
        arg = source[start:source.find(";", start)]
        literal = re.search(r'"((?:[^"\\]|\\.)*)"', arg)
        if not literal:
            # The command is a variable: the last statement before the call that assigned it.
            name = re.match(r"\s*(\w+)", arg)
            defs = list(re.finditer(r"\b" + re.escape(name.group(1)) + r"\s*=\s*([^;]*);",
                                    source[:start])) if name else []
            if defs:
                literal = re.search(r'"((?:[^"\\]|\\.)*)"', defs[-1].group(1))
        if literal and literal.group(1).split():
            commands.append((number, literal.group(1).split()[0]))
    for m in re.finditer(r'"((?:import|from) \w+[^"]*)"', source):
        number = source.count("\n", 0, m.start()) + 1
        programs.append((number, m.group(1).replace("\\n", "\n")))
    return commands, programs


def makefile_commands(source):
    """(line, program) of each Makefile recipe line's commands."""
    commands = []
    lines = source.splitlines()
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        i += 1
        while line.endswith("\\") and i < len(lines):
            line = line[:-1] + " " + lines[i]
            i += 1
        if not line.startswith("\t"):
            continue
        text = line.strip().lstrip("@-+").replace("$$", "$")
        text = re.sub(r"\$\([A-Z_]+\)/\S+", "$V", text)   # the build's own binaries
        text = re.sub(r"\$\([A-Za-z_]+\)", "$V", text)     # make variables
        for word in command_words(text, set()):
            commands.append((number, word))
    return commands


def check(root, setup_text):
    """(problems, number of uses checked, packages used) for the tree at
    `root` against the setup.sh text `setup_text`."""
    setup = setup_packages(setup_text)
    on_path = setup_commands(setup_text)
    local = local_modules(root)
    problems, checked, used = [], 0, set()

    def need_module(where, module):
        nonlocal checked
        checked += 1
        if module in STDLIB or module in local:      # local: this repository's own modules
            package = "python3"
        elif module in PYTHON_PACKAGES:
            used.add(PYTHON_PACKAGES[module])
            package = PYTHON_PACKAGES[module]
        else:
            problems.append(f"{where}: imports '{module}', which no table in tests/deps/check_deps.py "
                            f"maps to a Debian package; add it to PYTHON_PACKAGES and to scripts/setup.sh")
            return
        if package not in setup:
            problems.append(f"{where}: imports '{module}' (Debian package {package}), which "
                            f"scripts/setup.sh does not install; add {package} to its packages list")

    def need_program(where, program):
        nonlocal checked
        checked += 1
        base = program.rsplit("/", 1)[-1]
        if program.startswith(("./", "../")) or ("/" in program and not program.startswith("/usr/")):
            return                                   # a file of this repository or of the build
        if base not in PROGRAM_PACKAGES:
            problems.append(f"{where}: runs '{program}', which no table in tests/deps/check_deps.py "
                            f"maps to a Debian package; add it to PROGRAM_PACKAGES and to scripts/setup.sh")
            return
        package = PROGRAM_PACKAGES[base]
        used.add(package)
        if package not in setup and base not in on_path:
            problems.append(f"{where}: runs '{program}' (Debian package {package}), which "
                            f"scripts/setup.sh does not install; add {package} to its packages list")

    def rel(path):
        return path.relative_to(root).as_posix()

    for folder in ("tools", "tests"):
        for path in sorted((root / folder).rglob("*.py")):
            for number, module in python_imports(path.read_text()):
                need_module(f"{rel(path)}:{number}", module)

    # (files, reader, what embedded Python is called, line offset of its first line)
    scripts = sorted(p for folder in ("tests", "scripts", "datasets") for p in (root / folder).rglob("*.sh"))
    sources = [(scripts + [root / ".ci/run"], shell_commands, "embedded Python", 0),
               (sorted((root / "tests").rglob("*.cpp")), cpp_commands, "Python in a string", -1)]
    for paths, reader, kind, shift in sources:
        for path in paths:
            commands, programs = reader(path.read_text())
            for number, program in commands:
                need_program(f"{rel(path)}:{number}", program)
            for number, text in programs:
                for offset, module in python_imports(text):
                    need_module(f"{rel(path)}:{number + offset + shift} ({kind})", module)

    for number, program in makefile_commands((root / "Makefile").read_text()):
        need_program(f"Makefile:{number}", program)

    return problems, checked, used


def self_test(root):
    """The check must catch what a fresh machine caught: with
    python3-torchvision or coreutils taken out of setup.sh it must fail naming
    the file, the module or program and the package."""
    text = (root / "scripts/setup.sh").read_text()
    for package, expected in (("python3-torchvision", ("tools/make_model_fixtures.py", "'torchvision'")),
                              ("coreutils", ("tests/dist/data_parallel.sh", "'timeout'"))):
        stripped = re.sub(r"(?<=[\s(])" + re.escape(package) + r"(?=\s)", "", text, count=1)
        assert stripped != text, f"{package} is not in scripts/setup.sh"
        problems = check(root, stripped)[0]
        hits = [p for p in problems if all(e in p for e in expected) and package in p]
        if not hits:
            print(f"check_deps: self-test FAIL: without {package} in setup.sh no problem names "
                  f"{' and '.join(expected)} and {package}", file=sys.stderr)
            return 1
        print(f"check_deps: self-test ok: without {package}, {len(problems)} problems, e.g. {hits[0]}")
    return 0


def main():
    args = [a for a in sys.argv[1:] if a != "--self-test"]
    root = pathlib.Path(args[0] if args else pathlib.Path(__file__).parents[2]).resolve()
    if "--self-test" in sys.argv[1:]:
        return self_test(root)
    problems, checked, used = check(root, (root / "scripts/setup.sh").read_text())
    for problem in problems:
        print(f"check_deps: {problem}", file=sys.stderr)
    if problems:
        print(f"check_deps: FAIL: {len(problems)} of {checked} uses not installed by scripts/setup.sh",
              file=sys.stderr)
        return 1
    print(f"check_deps: ok: {checked} module and program uses, every one installed by scripts/setup.sh "
          f"(packages: {' '.join(sorted(used))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
