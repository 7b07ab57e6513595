package link

import "encoding/binary"

// queue is the frames waiting for one peer's writer: a list of chunks of
// chunkSize bytes (a frame larger than that gets a chunk of its own), so
// that a queue that grows while the writer is behind is never copied, and
// chunks the writer is done with are used again. Guarded by peer.qmu.
type queue struct {
	chunks [][]byte // full chunks, in order; each is one write
	// cur is the chunk being filled, at its full length: frames are in
	// cur[:fill]. Only an int changes a frame, so that pushing a frame
	// stores no pointer (a pointer stored while the GC marks costs a write
	// barrier, and a stream's queue is written while the GC runs).
	cur    []byte
	fill   int
	bytes  int      // bytes in chunks and cur
	frames uint64   // frames in chunks and cur
	free   [][]byte // written chunks, kept for reuse (at most maxFreeChunks)
}

const (
	chunkSize     = 256 << 10
	maxFreeChunks = 8
)

// push appends a frame; it reports whether the queue was empty.
func (q *queue) push(kind byte, payload []byte) (wasEmpty bool) {
	need := headerSize + len(payload)
	wasEmpty = q.bytes == 0
	if q.fill+need > len(q.cur) {
		q.next(need)
	}
	f := q.cur[q.fill : q.fill+need]
	binary.BigEndian.PutUint32(f, uint32(len(payload)))
	f[4] = kind
	copy(f[headerSize:], payload)
	q.fill += need
	q.bytes += need
	q.frames++
	return wasEmpty
}

// next ends the chunk being filled and starts one with room for need
// bytes: a free one, or a new one (of its own for a frame larger than
// chunkSize).
func (q *queue) next(need int) {
	if q.fill > 0 {
		q.chunks = append(q.chunks, q.cur[:q.fill])
	}
	var c []byte
	if k := len(q.free); k > 0 && need <= chunkSize {
		c, q.free[k-1], q.free = q.free[k-1], nil, q.free[:k-1]
	} else {
		c = make([]byte, max(chunkSize, need))
	}
	q.cur, q.fill = c[:cap(c)], 0
}

// take moves every queued chunk to the end of out and empties the queue.
func (q *queue) take(out [][]byte) (_ [][]byte, frames uint64) {
	out = append(out, q.chunks...)
	if q.fill > 0 {
		out = append(out, q.cur[:q.fill])
	}
	q.cur, q.fill = nil, 0
	clear(q.chunks)
	q.chunks = q.chunks[:0]
	frames = q.frames
	q.bytes, q.frames = 0, 0
	return out, frames
}

// recycle keeps written chunks for reuse.
func (q *queue) recycle(chunks [][]byte) {
	for _, c := range chunks {
		if cap(c) == chunkSize && len(q.free) < maxFreeChunks {
			q.free = append(q.free, c)
		}
	}
}

// drop empties the queue: its frames are lost with their session.
func (q *queue) drop() {
	q.recycle(q.chunks)
	if q.cur != nil {
		q.recycle([][]byte{q.cur})
	}
	q.cur, q.fill = nil, 0
	clear(q.chunks)
	q.chunks = q.chunks[:0]
	q.bytes, q.frames = 0, 0
}
