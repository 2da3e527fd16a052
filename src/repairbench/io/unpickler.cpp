#include "repairbench/io/unpickler.h"

#include <cstring>

#include "repairbench/core/error.h"

namespace repairbench::io {
namespace detail {
namespace {

// Limits that no state_dict comes near but that bound hostile input.
constexpr size_t kMaxObjects = size_t{1} << 20;  // objects built; stack and memo entries
constexpr size_t kMaxOpenMarks = 1000;
constexpr uint64_t kBaseBudget = uint64_t{256} << 20;
constexpr int kHighestProtocol = 5;

// Two's-complement value of the low `bytes` bytes of `value`.
int64_t sign_extend(uint64_t value, int bytes) {
  const int shift = 64 - 8 * bytes;
  return static_cast<int64_t>(value << shift) >> shift;
}

}  // namespace

Unpickler::Unpickler(std::string_view in, const StorageResolver& resolve, const std::string& name,
                     std::vector<StorageRef>* scan)
    : in_(in), resolve_(resolve), name_(name), scan_(scan), budget_(kBaseBudget + 4 * uint64_t{in.size()}) {}

void Unpickler::corrupt(const std::string& what) const {
  RB_FAIL(kCheckpoint, name_, ": corrupt pickle (", what, " at byte ", pos_,
          "); the file is truncated or damaged, or was not written by torch.save");
}

uint64_t Unpickler::read_le(int n) {
  const std::string_view bytes = take(static_cast<uint64_t>(n));
  uint64_t value = 0;
  for (int i = n - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  }
  return value;
}

std::string_view Unpickler::take(uint64_t n) {
  // Lengths come from the input: compare before using them for anything.
  if (n > in_.size() - pos_) corrupt("a length of " + std::to_string(n) + " past the end");
  const std::string_view out = in_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::string_view Unpickler::line() {
  const size_t end = in_.find('\n', pos_);
  if (end == std::string_view::npos) corrupt("an unterminated GLOBAL name");
  const std::string_view out = in_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return out;
}

Node* Unpickler::make(Node::Type type) {
  if (arena_.size() >= kMaxObjects) corrupt("more objects than a checkpoint holds");
  arena_.emplace_back();
  arena_.back().type = type;
  return &arena_.back();
}

Node* Unpickler::make_value(PyValue value) {
  Node* node = make(Node::Type::kValue);
  node->value = std::move(value);
  return node;
}

Node* Unpickler::make_sequence(Node::Type type, std::vector<Node*> items) {
  Node* node = make(type);
  node->items = std::move(items);
  return node;
}

void Unpickler::push(Node* node) {
  if (stack_.size() >= kMaxObjects) corrupt("a stack deeper than a checkpoint needs");
  stack_.push_back(node);
}

Node* Unpickler::top() {
  // Items below the innermost MARK belong to an enclosing level.
  if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) corrupt("stack underflow");
  return stack_.back();
}

Node* Unpickler::pop() {
  Node* node = top();
  stack_.pop_back();
  return node;
}

std::vector<Node*> Unpickler::pop_mark() {
  if (marks_.empty()) corrupt("no MARK to close");
  const size_t mark = marks_.back();
  marks_.pop_back();
  std::vector<Node*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
  stack_.resize(mark);
  return items;
}

void Unpickler::append_items(Node* list, const std::vector<Node*>& items) {
  if (list->type != Node::Type::kList) corrupt("APPEND to something that is not a list");
  list->items.insert(list->items.end(), items.begin(), items.end());
}

void Unpickler::set_items(Node* dict, const std::vector<Node*>& items) {
  if (dict->type != Node::Type::kDict) corrupt("SETITEM on something that is not a dict");
  if (items.size() % 2 != 0) corrupt("SETITEMS with an odd number of items");
  // Duplicate keys are resolved at conversion, by PyValue::dict.
  dict->items.insert(dict->items.end(), items.begin(), items.end());
}

PyValue Unpickler::run() {
  while (!stopped_) {
    const auto op = static_cast<uint8_t>(read_le(1));
    step(op);
  }
  if (stack_.size() != 1 || !marks_.empty()) corrupt("leftover objects at STOP");
  if (scan_ != nullptr) return PyValue::none();
  return convert(stack_.back(), 0);
}

void Unpickler::step(uint8_t op) {
  switch (op) {
    case 0x80: {  // PROTO
      const uint64_t protocol = read_le(1);
      if (protocol > kHighestProtocol) corrupt("unknown protocol " + std::to_string(protocol));
      return;
    }
    case 0x95:  // FRAME: only a buffering hint; its length must still make sense
      if (read_le(8) > in_.size() - pos_) corrupt("a frame past the end");
      return;
    case '.':  // STOP
      stopped_ = true;
      return;
    case '(':  // MARK
      if (marks_.size() >= kMaxOpenMarks) corrupt("MARKs nested too deeply");
      marks_.push_back(stack_.size());
      return;
    case '0':  // POP
      pop();
      return;
    case '1':  // POP_MARK
      pop_mark();
      return;
    case '2':  // DUP
      push(top());
      return;
    case 'N':  // NONE
      return push(make_value(PyValue::none()));
    case 0x88:  // NEWTRUE
      return push(make_value(PyValue::from_bool(true)));
    case 0x89:  // NEWFALSE
      return push(make_value(PyValue::from_bool(false)));
    case 'K':  // BININT1
      return push(make_value(PyValue::from_int(static_cast<int64_t>(read_le(1)))));
    case 'M':  // BININT2
      return push(make_value(PyValue::from_int(static_cast<int64_t>(read_le(2)))));
    case 'J':  // BININT
      return push(make_value(PyValue::from_int(sign_extend(read_le(4), 4))));
    case 0x8a:    // LONG1
    case 0x8b: {  // LONG4
      const uint64_t size = read_le(op == 0x8a ? 1 : 4);
      if (size > 8) corrupt("an integer beyond 64 bits");
      const int n = static_cast<int>(size);
      return push(make_value(PyValue::from_int(n == 0 ? 0 : sign_extend(read_le(n), n))));
    }
    case 'G': {  // BINFLOAT, big-endian
      const std::string_view raw = take(8);
      uint64_t bits = 0;
      for (const char c : raw) bits = (bits << 8) | static_cast<unsigned char>(c);
      double value = 0;
      std::memcpy(&value, &bits, sizeof value);
      return push(make_value(PyValue::from_float(value)));
    }
    case 0x8c:    // SHORT_BINUNICODE
    case 'X':     // BINUNICODE
    case 0x8d: {  // BINUNICODE8
      const int width = op == 0x8c ? 1 : op == 'X' ? 4 : 8;
      return push(make_value(PyValue::from_string(std::string(take(read_le(width))))));
    }
    case 'C':     // SHORT_BINBYTES
    case 'B':     // BINBYTES
    case 0x8e: {  // BINBYTES8
      const int width = op == 'C' ? 1 : op == 'B' ? 4 : 8;
      return push(make_value(PyValue::from_bytes(std::string(take(read_le(width))))));
    }
    case '}':  // EMPTY_DICT
      return push(make(Node::Type::kDict));
    case ']':  // EMPTY_LIST
      return push(make(Node::Type::kList));
    case ')':  // EMPTY_TUPLE
      return push(make(Node::Type::kTuple));
    case 't':  // TUPLE
      return push(make_sequence(Node::Type::kTuple, pop_mark()));
    case 0x85:    // TUPLE1
    case 0x86:    // TUPLE2
    case 0x87: {  // TUPLE3
      std::vector<Node*> items(static_cast<size_t>(op - 0x84));
      for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
      return push(make_sequence(Node::Type::kTuple, std::move(items)));
    }
    case 'l':  // LIST
      return push(make_sequence(Node::Type::kList, pop_mark()));
    case 'd': {  // DICT
      Node* dict = make(Node::Type::kDict);
      set_items(dict, pop_mark());
      return push(dict);
    }
    case 'a': {  // APPEND
      Node* item = pop();
      return append_items(top(), {item});
    }
    case 'e': {  // APPENDS
      const std::vector<Node*> items = pop_mark();
      return append_items(top(), items);
    }
    case 's': {  // SETITEM
      Node* value = pop();
      Node* key = pop();
      return set_items(top(), {key, value});
    }
    case 'u': {  // SETITEMS
      const std::vector<Node*> items = pop_mark();
      return set_items(top(), items);
    }
    case 'q':     // BINPUT
    case 'r':     // LONG_BINPUT
    case 0x94: {  // MEMOIZE
      const uint64_t index = op == 0x94 ? memo_.size() : read_le(op == 'q' ? 1 : 4);
      if (memo_.size() >= kMaxObjects) corrupt("a memo larger than a checkpoint needs");
      memo_[index] = top();
      return;
    }
    case 'h':    // BINGET
    case 'j': {  // LONG_BINGET
      const auto it = memo_.find(read_le(op == 'h' ? 1 : 4));
      if (it == memo_.end()) corrupt("a memo entry that was never stored");
      return push(it->second);
    }
    case 'c': {  // GLOBAL
      const std::string module(line());
      const std::string name(line());
      return push(global(module, name));
    }
    case 0x93: {  // STACK_GLOBAL
      const Node* name = pop();
      const Node* module = pop();
      if (name->value.kind() != PyValue::Kind::kString || module->value.kind() != PyValue::Kind::kString) {
        corrupt("STACK_GLOBAL without two str");
      }
      return push(global(module->value.as_string(), name->value.as_string()));
    }
    case 'R':     // REDUCE
    case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict gets here
      Node* args = pop();
      Node* callable = pop();
      return push(call(callable, args));
    }
    case 'b': {  // BUILD
      pop();
      // The only state torch.save gives an object is the _metadata attribute
      // of a state_dict's OrderedDict, which does not matter here.
      if (top()->type != Node::Type::kDict) corrupt("BUILD on something that is not a dict");
      return;
    }
    case 'Q':  // BINPERSID
      return push(persistent_load(pop()));
    default:
      corrupt("unsupported opcode " + std::to_string(op));
  }
}

}  // namespace detail

PyValue unpickle(std::string_view pickle, const StorageResolver& resolve_storage, const std::string& name,
                 size_t* length) {
  detail::Unpickler machine(pickle, resolve_storage, name);
  PyValue value = machine.run();
  if (length != nullptr) *length = machine.position();
  return value;
}

PickleScan scan_pickle(std::string_view pickle, const std::string& name) {
  PickleScan scan;
  const StorageResolver unused = [](const StorageRef&) { return std::string_view(); };
  detail::Unpickler machine(pickle, unused, name, &scan.storages);
  machine.run();
  scan.length = machine.position();
  return scan;
}

}  // namespace repairbench::io
