// Command gen_go_binary_seeds writes small seed inputs for tests/fuzz/fuzz_go_binary.c:
// ELF files of a few KiB that keep the real code of a handful of functions from a Go
// fixture binary, with a .gopclntab (Go 1.20+ layout) and a .symtab naming them, and the
// fixture's own .go.buildinfo. A whole Go binary is megabytes; these stay under the
// corpus budget while still reaching every reader.
//
//	go run . -in build/fixtures/hello-go1.26.8 -out tests/fuzz/corpus/go_binary
package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"flag"
	"log"
	"os"
	"path/filepath"
)

var funcs = []string{
	"net/http.serverHandler.ServeHTTP",
	"net/http.(*response).finishRequest",
	"net/textproto.(*Reader).readContinuedLineSlice",
	"main.main",
	"runtime.memmove",
}

const (
	base     = 0x400000
	firstOff = 0x1000
)

type fn struct {
	name string
	code []byte
}

type section struct {
	name  string
	typ   elf.SectionType
	flags elf.SectionFlag
	data  []byte
	link  uint32
	ent   uint64
	addr  uint64
	off   uint64
}

func align(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }

func readFuncs(f *elf.File) []fn {
	syms, err := f.Symbols()
	if err != nil {
		log.Fatal(err)
	}
	text := f.Section(".text")
	var out []fn
	for _, want := range funcs {
		for _, s := range syms {
			if s.Name != want || elf.ST_TYPE(s.Info) != elf.STT_FUNC {
				continue
			}
			code := make([]byte, s.Size)
			if _, err := text.ReadAt(code, int64(s.Value-text.Addr)); err != nil {
				log.Fatal(err)
			}
			out = append(out, fn{want, code})
			break
		}
	}
	return out
}

// pclntab lays out a Go 1.20 pclntab for fns placed at textStart + entries[i].
func pclntab(fns []fn, entries []uint32, end uint32, textStart uint64) []byte {
	var names bytes.Buffer
	nameOff := make([]uint32, len(fns))
	for i, f := range fns {
		nameOff[i] = uint32(names.Len())
		names.WriteString(f.name)
		names.WriteByte(0)
	}
	const hdr = 8 + 8*8
	funcnameOff := uint64(hdr)
	pclnOff := align(funcnameOff+uint64(names.Len()), 8)
	functabLen := uint64(len(fns)*2+1) * 4
	funcRec := 44 // entryOff, nameOff, then fields the readers here do not use
	b := make([]byte, pclnOff+functabLen+uint64(len(fns)*funcRec))
	le := binary.LittleEndian
	le.PutUint32(b[0:], 0xfffffff1)
	b[6], b[7] = 1, 8
	words := []uint64{uint64(len(fns)), 0, textStart, funcnameOff, pclnOff, pclnOff, pclnOff, pclnOff}
	for i, w := range words {
		le.PutUint64(b[8+8*i:], w)
	}
	copy(b[funcnameOff:], names.Bytes())
	for i := range fns {
		rec := functabLen + uint64(i*funcRec)
		le.PutUint32(b[pclnOff+uint64(i*8):], entries[i])
		le.PutUint32(b[pclnOff+uint64(i*8)+4:], uint32(rec))
		le.PutUint32(b[pclnOff+rec:], entries[i])
		le.PutUint32(b[pclnOff+rec+4:], nameOff[i])
	}
	le.PutUint32(b[pclnOff+uint64(len(fns)*8):], end)
	return b
}

func symtab(fns []fn, entries []uint32, textStart uint64, textIdx uint16) ([]byte, []byte) {
	var strtab bytes.Buffer
	strtab.WriteByte(0)
	var st bytes.Buffer
	st.Write(make([]byte, 24)) // the null symbol
	for i, f := range fns {
		name := uint32(strtab.Len())
		strtab.WriteString(f.name)
		strtab.WriteByte(0)
		binary.Write(&st, binary.LittleEndian, elf.Sym64{
			Name: name, Info: elf.ST_INFO(elf.STB_GLOBAL, elf.STT_FUNC), Shndx: textIdx,
			Value: textStart + uint64(entries[i]), Size: uint64(len(f.code)),
		})
	}
	return st.Bytes(), strtab.Bytes()
}

// layout places the sections from firstOff on, 32-byte aligned, the allocated ones at
// base + their offset; it returns the end of the data and of the loaded part.
func layout(secs []section) (end, loadEnd uint64) {
	off := uint64(firstOff)
	for i := range secs {
		off = align(off, 32)
		secs[i].off = off
		if secs[i].flags&elf.SHF_ALLOC != 0 {
			secs[i].addr = base + off
			loadEnd = off + uint64(len(secs[i].data))
		}
		off += uint64(len(secs[i].data))
	}
	return off, loadEnd
}

func write(path string, secs []section) {
	le := binary.LittleEndian
	var shstr bytes.Buffer
	shstr.WriteByte(0)
	nameIdx := make([]uint32, len(secs)+1)
	for i, s := range secs {
		nameIdx[i] = uint32(shstr.Len())
		shstr.WriteString(s.name)
		shstr.WriteByte(0)
	}
	nameIdx[len(secs)] = uint32(shstr.Len())
	shstr.WriteString(".shstrtab\x00")
	off, loadEnd := layout(secs)
	shstrOff := off
	shOff := align(shstrOff+uint64(shstr.Len()), 8)
	out := make([]byte, shOff+uint64(len(secs)+2)*64)
	copy(out[0:], []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le.PutUint16(out[16:], uint16(elf.ET_EXEC))
	le.PutUint16(out[18:], uint16(elf.EM_X86_64))
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[24:], secs[0].addr)
	le.PutUint64(out[32:], 64)
	le.PutUint64(out[40:], shOff)
	le.PutUint16(out[52:], 64)
	le.PutUint16(out[54:], 56)
	le.PutUint16(out[56:], 1)
	le.PutUint16(out[58:], 64)
	le.PutUint16(out[60:], uint16(len(secs)+2))
	le.PutUint16(out[62:], uint16(len(secs)+1))
	ph := out[64:]
	le.PutUint32(ph[0:], uint32(elf.PT_LOAD))
	le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_X))
	le.PutUint64(ph[16:], base)
	le.PutUint64(ph[24:], base)
	le.PutUint64(ph[32:], loadEnd)
	le.PutUint64(ph[40:], loadEnd)
	le.PutUint64(ph[48:], 0x1000)
	for i, s := range secs {
		copy(out[s.off:], s.data)
		sh := out[shOff+uint64(i+1)*64:]
		le.PutUint32(sh[0:], nameIdx[i])
		le.PutUint32(sh[4:], uint32(s.typ))
		le.PutUint64(sh[8:], uint64(s.flags))
		le.PutUint64(sh[16:], s.addr)
		le.PutUint64(sh[24:], s.off)
		le.PutUint64(sh[32:], uint64(len(s.data)))
		le.PutUint32(sh[40:], s.link)
		le.PutUint64(sh[48:], 16)
		le.PutUint64(sh[56:], s.ent)
	}
	copy(out[shstrOff:], shstr.Bytes())
	sh := out[shOff+uint64(len(secs)+1)*64:]
	le.PutUint32(sh[0:], nameIdx[len(secs)])
	le.PutUint32(sh[4:], uint32(elf.SHT_STRTAB))
	le.PutUint64(sh[24:], shstrOff)
	le.PutUint64(sh[32:], uint64(shstr.Len()))
	le.PutUint64(sh[48:], 1)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		log.Fatal(err)
	}
}

func main() {
	in := flag.String("in", "", "unstripped Go fixture binary")
	outDir := flag.String("out", "tests/fuzz/corpus/go_binary", "corpus directory")
	flag.Parse()
	f, err := elf.Open(*in)
	if err != nil {
		log.Fatal(err)
	}
	fns := readFuncs(f)
	bi, err := f.Section(".go.buildinfo").Data()
	if err != nil {
		log.Fatal(err)
	}
	var text bytes.Buffer
	entries := make([]uint32, len(fns))
	for i, fn := range fns {
		for text.Len()%32 != 0 {
			text.WriteByte(0xcc)
		}
		entries[i] = uint32(text.Len())
		text.Write(fn.code)
	}
	textStart := uint64(base + firstOff) // .text is the first section
	pcln := pclntab(fns, entries, uint32(text.Len()), textStart)
	st, strtab := symtab(fns, entries, textStart, 1)
	alloc := elf.SHF_ALLOC
	full := []section{
		{name: ".text", typ: elf.SHT_PROGBITS, flags: alloc | elf.SHF_EXECINSTR, data: text.Bytes()},
		{name: ".gopclntab", typ: elf.SHT_PROGBITS, flags: alloc, data: pcln},
		{name: ".go.buildinfo", typ: elf.SHT_PROGBITS, flags: alloc | elf.SHF_WRITE, data: bi},
		{name: ".symtab", typ: elf.SHT_SYMTAB, data: st, link: 5, ent: 24},
		{name: ".strtab", typ: elf.SHT_STRTAB, data: strtab},
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		log.Fatal(err)
	}
	write(filepath.Join(*outDir, "seed-full.elf"), full)
	write(filepath.Join(*outDir, "seed-stripped.elf"), full[:3])
	write(filepath.Join(*outDir, "seed-pclntab-only.elf"), full[:2])

	// Go 1.26's layout: no text start in the pclntab header; runtime.firstmoduledata,
	// in a .go.module section, points at the pclntab and holds it.
	pcln0 := append([]byte(nil), pcln...)
	binary.LittleEndian.PutUint64(pcln0[8+2*8:], 0)
	md := make([]byte, 0x100)
	mod := []section{
		full[0],
		{name: ".gopclntab", typ: elf.SHT_PROGBITS, flags: alloc, data: pcln0},
		{name: ".go.module", typ: elf.SHT_PROGBITS, flags: alloc | elf.SHF_WRITE, data: md},
	}
	layout(mod)
	le := binary.LittleEndian
	le.PutUint64(md[0:], mod[1].addr)
	le.PutUint64(md[8:], mod[1].addr+le.Uint64(pcln0[8+3*8:]))
	le.PutUint64(md[8+6*24+3*8:], textStart)
	write(filepath.Join(*outDir, "seed-moduledata.elf"), mod)
}
