package link

// queue is the frames waiting for one peer's writer: a list of chunks of
// chunkSize bytes (a frame larger than that gets a chunk of its own), so
// that a queue that grows while the writer is behind is never copied, and
// chunks the writer is done with are used again. Guarded by peer.qmu.
type queue struct {
	chunks [][]byte // frames in order; each chunk is one write
	bytes  int      // bytes in chunks
	frames uint64   // frames in chunks
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
	n := len(q.chunks)
	if n == 0 || len(q.chunks[n-1])+need > cap(q.chunks[n-1]) {
		var c []byte
		if k := len(q.free); k > 0 && need <= chunkSize {
			c, q.free = q.free[k-1][:0], q.free[:k-1]
		} else {
			c = make([]byte, 0, max(chunkSize, need))
		}
		q.chunks = append(q.chunks, c)
		n++
	}
	q.chunks[n-1] = appendFrame(q.chunks[n-1], kind, payload)
	q.bytes += need
	q.frames++
	return wasEmpty
}

// take moves every queued chunk to the end of out and empties the queue.
func (q *queue) take(out [][]byte) (_ [][]byte, frames uint64) {
	out = append(out, q.chunks...)
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
	clear(q.chunks)
	q.chunks = q.chunks[:0]
	q.bytes, q.frames = 0, 0
}
