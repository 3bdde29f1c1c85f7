// Command extract reads the struct field offsets agent/go_fields.def names from the
// DWARF of Go binaries and writes the agent's offsets tables: a row per Go minor
// version for the standard library's fields (from each std=BINARY, keyed by the Go
// version that built it) and a row per module version for a module's fields (from
// each mod=BINARY, keyed by the version of that module the binary's build info lists).
// It uses Go's debug/dwarf, a reader independent of the agent's libdw one, so that the
// unit tests comparing the two check both.
//
// Each module's rows go into a file of their own, OUT_<name>.c (agent/go_offsets.h:
// struct go_offsets_table), holding only that module's fields: <name> is "std", or the
// module path without its host ("grpc" for google.golang.org/grpc, "xnet" for
// golang.org/x/net). OUT.c, the index, lists the tables. Generated files of modules
// that no longer have rows are removed.
//
//	extract -fields agent/go_fields.def -o agent/go_offsets_table.c std=BIN... mod=BIN...
package main

import (
	"bytes"
	"debug/buildinfo"
	"debug/dwarf"
	"debug/elf"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type field struct{ id, module, typ, member string }

var fieldRE = regexp.MustCompile(`(?m)^GO_FIELD\((\w+),\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]+)"\)`)

func readFields(path string) []field {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	var fs []field
	for _, m := range fieldRE.FindAllStringSubmatch(string(b), -1) {
		fs = append(fs, field{m[1], m[2], m[3], m[4]})
	}
	if len(fs) == 0 {
		log.Fatalf("%s: no GO_FIELD lines", path)
	}
	return fs
}

// offsets returns struct -> member -> offset for the structs in want.
func offsets(path string, want map[string]bool) map[string]map[string]int64 {
	f, err := elf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	out := map[string]map[string]int64{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			log.Fatal(err)
		}
		if e == nil {
			break
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if e.Tag != dwarf.TagStructType || !want[name] || out[name] != nil {
			continue
		}
		t, err := d.Type(e.Offset)
		if err != nil {
			log.Fatal(err)
		}
		st, ok := t.(*dwarf.StructType)
		if !ok {
			continue
		}
		out[name] = map[string]int64{}
		for _, fl := range st.Field {
			out[name][fl.Name] = fl.ByteOffset
		}
	}
	return out
}

type row struct {
	module       string
	version      string
	major, minor int
	off          []string
}

// rowFor reads the offsets of module's fields from bin, in the order of fs; the other
// modules' fields get "" (not written: they are another table's).
func rowFor(bin, module, version string, major, minor int, fs []field, want map[string]bool) row {
	got := offsets(bin, want)
	r := row{module: module, version: version, major: major, minor: minor}
	for _, f := range fs {
		switch o, ok := got[f.typ][f.member]; {
		case f.module != module:
			r.off = append(r.off, "")
		case ok:
			r.off = append(r.off, strconv.FormatInt(o, 10))
		default:
			r.off = append(r.off, "GO_OFFSET_ABSENT")
		}
	}
	return r
}

// anyFound tells whether r has an offset for one of its module's fields.
func anyFound(r row) bool {
	for _, o := range r.off {
		if o != "GO_OFFSET_ABSENT" && o != "" {
			return true
		}
	}
	return false
}

func main() {
	fieldsPath := flag.String("fields", "agent/go_fields.def", "field list")
	outPath := flag.String("o", "agent/go_offsets_table.c", "output C file")
	flag.Parse()
	fs := readFields(*fieldsPath)
	want := map[string]bool{}
	modules := map[string]bool{}
	for _, f := range fs {
		want[f.typ] = true
		if f.module != "std" {
			modules[f.module] = true
		}
	}
	var rows []row
	seen := map[string]bool{}
	for _, arg := range flag.Args() {
		kind, bin, ok := strings.Cut(arg, "=")
		if !ok || (kind != "std" && kind != "mod") {
			log.Fatalf("%s: want std=BINARY or mod=BINARY", arg)
		}
		bi, err := buildinfo.ReadFile(bin)
		if err != nil {
			log.Fatal(err)
		}
		if kind == "std" {
			v := strings.TrimPrefix(strings.Fields(bi.GoVersion)[0], "go")
			parts := strings.Split(v, ".")
			major, _ := strconv.Atoi(parts[0])
			minor, _ := strconv.Atoi(parts[1])
			key := fmt.Sprintf("std %d.%d", major, minor)
			if !seen[key] {
				seen[key] = true
				rows = append(rows, rowFor(bin, "std", "go"+v, major, minor, fs, want))
			}
			continue
		}
		for _, dep := range bi.Deps {
			key := dep.Path + " " + dep.Version
			if !modules[dep.Path] || seen[key] {
				continue
			}
			if dep.Replace != nil {
				log.Fatalf("%s: %s is replaced", bin, dep.Path)
			}
			r := rowFor(bin, dep.Path, dep.Version, 0, 0, fs, want)
			if !anyFound(r) {
				// A dependency whose types this program does not use (gRPC's
				// golang.org/x/net): its row comes from a program that does.
				continue
			}
			seen[key] = true
			rows = append(rows, r)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.module != b.module {
			return a.module == "std" || (b.module != "std" && a.module < b.module)
		}
		if a.major != b.major {
			return a.major < b.major
		}
		if a.minor != b.minor {
			return a.minor < b.minor
		}
		return semverLess(a.version, b.version)
	})
	if err := writeTables(*outPath, *fieldsPath, fs, rows); err != nil {
		log.Fatal(err)
	}
}

const generated = "/* Generated by tools/offsets-gen/gen.sh from agent/go_fields.def: do not edit.\n"

// tableName is the name of module's table and file: "std", else the module path
// without its host, letters and digits only ("google.golang.org/grpc" -> "grpc",
// "golang.org/x/net" -> "xnet").
func tableName(module string) string {
	if module == "std" {
		return module
	}
	_, rest, _ := strings.Cut(module, "/")
	var b strings.Builder
	for _, c := range strings.ToLower(rest) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '-' || c == '_' || c == '.':
			b.WriteByte('_')
		}
	}
	return b.String()
}

// writeTables writes a file per module that has rows (rows are sorted: std first,
// then by module path) and the index out, and removes the generated files of modules
// that have none.
func writeTables(out, fieldsPath string, fs []field, rows []row) error {
	base := strings.TrimSuffix(out, ".c")
	assert := fmt.Sprintf("_Static_assert(GO_FIELD_COUNT == %d, \"%s changed: run tools/offsets-gen/gen.sh\");\n\n",
		len(fs), fieldsPath)
	var names []string
	byName := map[string]string{}
	written := map[string]bool{}
	for start := 0; start < len(rows); {
		module := rows[start].module
		end := start
		for end < len(rows) && rows[end].module == module {
			end++
		}
		name := tableName(module)
		if other, ok := byName[name]; ok || name == "" {
			return fmt.Errorf("modules %q and %q would share the table name %q", other, module, name)
		}
		byName[name] = module
		names = append(names, name)
		path := base + "_" + name + ".c"
		if err := os.WriteFile(path, moduleFile(module, name, assert, fs, rows[start:end]), 0o644); err != nil {
			return err
		}
		written[path] = true
		start = end
	}
	var b bytes.Buffer
	b.WriteString(generated)
	fmt.Fprintf(&b, " * The offsets tables, one per module: %s_<name>.c. */\n", filepath.Base(base))
	b.WriteString("#include \"agent/go_offsets.h\"\n\n")
	b.WriteString(assert)
	for _, n := range names {
		fmt.Fprintf(&b, "extern const struct go_offsets_table go_offsets_table_%s;\n", n)
	}
	b.WriteString("\nconst struct go_offsets_table *const go_offsets_tables[] = {\n")
	for _, n := range names {
		fmt.Fprintf(&b, "\t&go_offsets_table_%s,\n", n)
	}
	b.WriteString("};\n\n")
	b.WriteString("const size_t go_offsets_tables_len = sizeof(go_offsets_tables) / sizeof(go_offsets_tables[0]);\n")
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		return err
	}
	stale, err := filepath.Glob(base + "_*.c")
	if err != nil {
		return err
	}
	for _, path := range stale {
		if written[path] {
			continue
		}
		if head, err := os.ReadFile(path); err == nil && bytes.HasPrefix(head, []byte(generated)) {
			if err := os.Remove(path); err != nil {
				return err
			}
		}
	}
	return nil
}

// moduleFile is the C file of module's table: its rows, with its fields only.
func moduleFile(module, name, assert string, fs []field, rows []row) []byte {
	var b bytes.Buffer
	b.WriteString(generated)
	if module == "std" {
		b.WriteString(" * Standard library struct field offsets, a row per Go minor version, each read from\n")
		b.WriteString(" * the DWARF of a probe program built with that toolchain. */\n")
	} else {
		fmt.Fprintf(&b, " * Module %s: offsets of the fields agent/go_fields.def keys by its\n", module)
		b.WriteString(" * version, a row per version, each read from the DWARF of a probe program built\n")
		b.WriteString(" * against it. */\n")
	}
	b.WriteString("#include \"agent/go_offsets.h\"\n\n")
	b.WriteString(assert)
	b.WriteString("static const struct go_offsets_row rows[] = {\n")
	for _, r := range rows {
		b.WriteString("\t{\n")
		if module == "std" {
			fmt.Fprintf(&b, "\t\t.major = %d,\n\t\t.minor = %d,\n", r.major, r.minor)
		}
		fmt.Fprintf(&b, "\t\t.version = %q,\n\t\t.off = {\n", r.version)
		for i, f := range fs {
			if f.module == module {
				fmt.Fprintf(&b, "\t\t\t[GO_FIELD_%s] = %s,\n", f.id, r.off[i])
			}
		}
		b.WriteString("\t\t},\n\t},\n")
	}
	b.WriteString("};\n\n")
	fmt.Fprintf(&b, "const struct go_offsets_table go_offsets_table_%s = {\n", name)
	fmt.Fprintf(&b, "\t.module = %q,\n", module)
	b.WriteString("\t.rows = rows,\n")
	b.WriteString("\t.len = sizeof(rows) / sizeof(rows[0]),\n")
	b.WriteString("};\n")
	return b.Bytes()
}

// semverLess orders "v1.9.0" before "v1.10.0".
func semverLess(a, b string) bool {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}
