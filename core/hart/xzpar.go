package hart

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	rxz "github.com/therootcompany/xz"
)

// Block-parallel xz decoding in pure Go.
//
// An xz file made of several blocks (what multi-threaded xz writes, and
// what Write writes by default) lists every block's compressed and
// uncompressed size in the index at the end of each stream. Each block can
// then be decoded on its own: it is wrapped into a one-block stream
// (the original stream header, the block, a one-record index, a footer)
// and given to an ordinary decoder. Blocks are decoded on several cores,
// and their output is handed over in order.

// xzBlock is one block of an xz payload, as the index describes it.
type xzBlock struct {
	streamHeader []byte // the 12-byte header of the stream holding the block
	off          int64  // offset of the block header within the payload
	unpadded     int64  // block header + compressed data + check
	uncompressed int64
}

func pad4(n int64) int64 { return (n + 3) &^ 3 }

var errNoIndex = errors.New("xz index unusable for parallel decoding")

// xzBlocks reads the indexes of the xz payload in r (size bytes), walking
// the streams from the end. Any irregularity returns errNoIndex: the
// sequential decoder then reads the payload and reports what is wrong.
func xzBlocks(r io.ReaderAt, size int64) ([]xzBlock, error) {
	var streams [][]xzBlock
	pos := size
	for pos > 0 {
		// Stream padding: groups of four zero bytes.
		var w [4]byte
		for pos >= 4 {
			if _, err := r.ReadAt(w[:], pos-4); err != nil {
				return nil, errNoIndex
			}
			if w != [4]byte{} {
				break
			}
			pos -= 4
		}
		if pos == 0 {
			break
		}
		if pos < 24 {
			return nil, errNoIndex
		}
		var footer [12]byte
		if _, err := r.ReadAt(footer[:], pos-12); err != nil {
			return nil, errNoIndex
		}
		if footer[10] != 'Y' || footer[11] != 'Z' || crc32.ChecksumIEEE(footer[4:10]) != binary.LittleEndian.Uint32(footer[0:4]) {
			return nil, errNoIndex
		}
		indexSize := (int64(binary.LittleEndian.Uint32(footer[4:8])) + 1) * 4
		indexStart := pos - 12 - indexSize
		if indexStart < 12 || indexSize > 1<<24 {
			return nil, errNoIndex
		}
		index := make([]byte, indexSize)
		if _, err := r.ReadAt(index, indexStart); err != nil {
			return nil, errNoIndex
		}
		recs, err := parseXZIndex(index)
		if err != nil {
			return nil, err
		}
		var total int64
		for _, rc := range recs {
			total += pad4(rc[0])
		}
		start := indexStart - total - 12
		if start < 0 {
			return nil, errNoIndex
		}
		header := make([]byte, 12)
		if _, err := r.ReadAt(header, start); err != nil {
			return nil, errNoIndex
		}
		if !bytes.Equal(header[:6], xzMagic) || !bytes.Equal(header[6:8], footer[8:10]) || crc32.ChecksumIEEE(header[6:8]) != binary.LittleEndian.Uint32(header[8:12]) {
			return nil, errNoIndex
		}
		blocks := make([]xzBlock, 0, len(recs))
		off := start + 12
		for _, rc := range recs {
			blocks = append(blocks, xzBlock{streamHeader: header, off: off, unpadded: rc[0], uncompressed: rc[1]})
			off += pad4(rc[0])
		}
		streams = append(streams, blocks)
		pos = start
	}
	var out []xzBlock
	for i := len(streams) - 1; i >= 0; i-- {
		out = append(out, streams[i]...)
	}
	return out, nil
}

// parseXZIndex returns the (unpadded, uncompressed) size of every record.
func parseXZIndex(b []byte) ([][2]int64, error) {
	if len(b) < 8 || b[0] != 0 {
		return nil, errNoIndex
	}
	if crc32.ChecksumIEEE(b[:len(b)-4]) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, errNoIndex
	}
	p := 1
	count, n := binary.Uvarint(b[p:])
	if n <= 0 || count > 1<<20 {
		return nil, errNoIndex
	}
	p += n
	recs := make([][2]int64, 0, count)
	for i := uint64(0); i < count; i++ {
		u, n := binary.Uvarint(b[p:])
		if n <= 0 || u == 0 || u > 1<<40 {
			return nil, errNoIndex
		}
		p += n
		c, n := binary.Uvarint(b[p:])
		if n <= 0 || c > 1<<40 {
			return nil, errNoIndex
		}
		p += n
		recs = append(recs, [2]int64{int64(u), int64(c)})
	}
	return recs, nil
}

// blockStreamTail is the index and footer of a one-block stream.
func blockStreamTail(blk xzBlock) []byte {
	var idx []byte
	idx = append(idx, 0)
	idx = binary.AppendUvarint(idx, 1)
	idx = binary.AppendUvarint(idx, uint64(blk.unpadded))
	idx = binary.AppendUvarint(idx, uint64(blk.uncompressed))
	for len(idx)%4 != 0 {
		idx = append(idx, 0)
	}
	idx = binary.LittleEndian.AppendUint32(idx, crc32.ChecksumIEEE(idx))
	var foot [12]byte
	binary.LittleEndian.PutUint32(foot[4:8], uint32(len(idx)/4-1))
	copy(foot[8:10], blk.streamHeader[6:8])
	foot[10], foot[11] = 'Y', 'Z'
	binary.LittleEndian.PutUint32(foot[0:4], crc32.ChecksumIEEE(foot[4:10]))
	return append(idx, foot[:]...)
}

// maxParallelBlock bounds the uncompressed size of a block decoded ahead
// of its turn, which is held in memory.
const maxParallelBlock = 64 << 20

// parallelUsable reports whether the blocks are worth and safe to decode
// in parallel.
func parallelUsable(blocks []xzBlock) bool {
	if len(blocks) < 2 {
		return false
	}
	for _, b := range blocks {
		if b.uncompressed > maxParallelBlock {
			return false
		}
	}
	return true
}

// parDecoder decodes blocks on `workers` goroutines and returns their
// output in order. At most `ahead` blocks are decoded or held beyond the
// one being read.
type parDecoder struct {
	r        io.ReaderAt
	size     int64 // of the whole payload, for the final progress report
	blocks   []xzBlock
	out      []chan []byte
	errs     []error
	tokens   chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup
	cur      int
	chunk    []byte // unread part of held
	held     []byte // the chunk being read, back to the pool when done
	pool     sync.Pool
	progress func(int64)
	closed   bool
}

func newParDecoder(r io.ReaderAt, size int64, blocks []xzBlock, workers int, progress func(int64)) *parDecoder {
	if workers < 1 {
		workers = 1
	}
	d := &parDecoder{
		r:        r,
		size:     size,
		blocks:   blocks,
		out:      make([]chan []byte, len(blocks)),
		errs:     make([]error, len(blocks)),
		tokens:   make(chan struct{}, workers+1),
		done:     make(chan struct{}),
		progress: progress,
	}
	for i, b := range blocks {
		d.out[i] = make(chan []byte, b.uncompressed/chunkSize+2)
	}
	work := make(chan int)
	d.wg.Add(1)
	go func() { // dispatcher: blocks in order, as tokens allow
		defer d.wg.Done()
		defer close(work)
		for k := range blocks {
			select {
			case d.tokens <- struct{}{}:
			case <-d.done:
				return
			}
			select {
			case work <- k:
			case <-d.done:
				return
			}
		}
	}()
	for i := 0; i < workers; i++ {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for k := range work {
				d.decodeBlock(k)
			}
		}()
	}
	return d
}

func (d *parDecoder) decodeBlock(k int) {
	defer close(d.out[k])
	blk := d.blocks[k]
	src := io.MultiReader(bytes.NewReader(blk.streamHeader),
		io.NewSectionReader(d.r, blk.off, pad4(blk.unpadded)),
		bytes.NewReader(blockStreamTail(blk)))
	zr, err := rxz.NewReader(src, 0)
	if err != nil {
		d.errs[k] = xzError(err)
		return
	}
	var total int64
	for {
		select {
		case <-d.done:
			return
		default:
		}
		buf, _ := d.pool.Get().([]byte)
		if buf == nil {
			buf = make([]byte, chunkSize)
		}
		n, err := io.ReadFull(zr, buf[:chunkSize])
		if n > 0 {
			d.out[k] <- buf[:n] // never blocks: the channel holds the whole block
			total += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			d.errs[k] = xzError(err)
			return
		}
	}
	if total != blk.uncompressed {
		d.errs[k] = fmt.Errorf("%w: xz block %d holds %d bytes, the index says %d", ErrFormat, k, total, blk.uncompressed)
	}
}

func (d *parDecoder) Read(p []byte) (int, error) {
	for len(d.chunk) == 0 {
		if d.held != nil {
			d.pool.Put(d.held[:cap(d.held)])
			d.held = nil
		}
		if d.cur >= len(d.blocks) {
			if d.progress != nil && d.cur == len(d.blocks) {
				d.progress(d.size)
				d.cur++
			}
			return 0, io.EOF
		}
		c, ok := <-d.out[d.cur]
		if !ok {
			if err := d.errs[d.cur]; err != nil {
				return 0, err
			}
			if d.progress != nil {
				b := d.blocks[d.cur]
				d.progress(b.off + pad4(b.unpadded))
			}
			d.cur++
			<-d.tokens
			continue
		}
		d.chunk, d.held = c, c
	}
	n := copy(p, d.chunk)
	d.chunk = d.chunk[n:]
	return n, nil
}

func (d *parDecoder) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.done)
	d.wg.Wait()
	return nil
}
