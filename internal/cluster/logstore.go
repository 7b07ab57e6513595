package cluster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The durable log is one bbolt file (docs/cluster.md says why bbolt):
//
//	bucket "meta": "format" -> logFormat, "hardstate" -> HardState,
//	               "snapshot" -> the latest Snapshot (state machine included)
//	bucket "log":  8-byte big-endian index -> Entry
//
// Every value is a CRC-32C of its bytes followed by the protobuf encoding:
// bbolt checksums its meta pages, not its data pages, and a log replayed
// from a flipped byte would commit a different history.
//
// A raft.MemoryStorage holds the same log in memory for the library to read;
// Save writes a Ready's part to the file first (one transaction: one fsync)
// and to memory after, as etcd's raftexample does with its WAL.
var (
	bucketMeta = []byte("meta")
	bucketLog  = []byte("log")
	keyFormat  = []byte("format")
	keyHard    = []byte("hardstate")
	keySnap    = []byte("snapshot")
	logFormat  = []byte("isle-raft-log/1")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// logStore is a node's durable Raft log. Owned by its group's loop (Open
// runs before the loop starts; Close after it ends).
type logStore struct {
	path  string
	db    *bolt.DB
	mem   *raft.MemoryStorage
	empty bool // nothing was on disk when opened: the group may bootstrap
	snap  *pb.Snapshot
}

// openLog opens (or creates) the log at path and loads it. A file that is
// not a log, is truncated or fails a checksum is ErrCorruptLog, with what
// was wrong; a file another process holds is an error after a second.
func openLog(path string) (*logStore, error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		if err := checkSize(path, fi.Size()); err != nil {
			return nil, err
		}
	}
	db, err := openBolt(path, false)
	if err != nil {
		return nil, err
	}
	s := &logStore{path: path, db: db, mem: raft.NewMemoryStorage()}
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openBolt opens the file, turning bbolt's refusals (and its panics on a
// damaged page, and faults on a mapping past the file's end) into errors.
func openBolt(path string, readOnly bool) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: %s: %v", ErrCorruptLog, path, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: readOnly})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("cluster: raft log %s is held by another process (the same node started twice?)", path)
	case err != nil && !errors.Is(err, os.ErrPermission) && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptLog, path, err)
	case err != nil:
		return nil, fmt.Errorf("cluster: raft log: %w", err)
	}
	return db, nil
}

// checkSize refuses a file shorter than the database its meta page
// describes (a truncated copy), before anything reads the missing pages.
func checkSize(path string, size int64) error {
	db, err := openBolt(path, true)
	if err != nil {
		return err
	}
	defer db.Close()
	var need int64
	db.View(func(tx *bolt.Tx) error { need = tx.Size(); return nil })
	if size < need {
		return fmt.Errorf("%w: %s is truncated: %d bytes, its database needs %d", ErrCorruptLog, path, size, need)
	}
	return nil
}

func seal(b []byte) []byte {
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(b)), crc32.Checksum(b, castagnoli))
	return append(out, b...)
}

func unseal(what string, v []byte, m proto.Message) error {
	if len(v) < 4 || binary.BigEndian.Uint32(v) != crc32.Checksum(v[4:], castagnoli) {
		return fmt.Errorf("%w: %s fails its checksum", ErrCorruptLog, what)
	}
	if err := proto.Unmarshal(v[4:], m); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorruptLog, what, err)
	}
	return nil
}

func logKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// load reads the file into memory, checking it as it goes.
func (s *logStore) load() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrCorruptLog, s.path, r)
		}
	}()
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta, lg := tx.Bucket(bucketMeta), tx.Bucket(bucketLog)
		if meta == nil && lg == nil {
			s.empty = true
			if _, err := tx.CreateBucket(bucketLog); err != nil {
				return err
			}
			m, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			return m.Put(keyFormat, logFormat)
		}
		if meta == nil || lg == nil || !bytes.Equal(meta.Get(keyFormat), logFormat) {
			return fmt.Errorf("%w: not an isle raft log (format %q)", ErrCorruptLog, meta.Get(keyFormat))
		}
		return s.loadFrom(meta, lg)
	})
	if err != nil && !errors.Is(err, ErrCorruptLog) {
		err = fmt.Errorf("%w: %s: %v", ErrCorruptLog, s.path, err)
	} else if err != nil {
		err = fmt.Errorf("%w (%s)", err, s.path)
	}
	return err
}

func (s *logStore) loadFrom(meta, lg *bolt.Bucket) error {
	snap := &pb.Snapshot{}
	if v := meta.Get(keySnap); v != nil {
		if err := unseal("snapshot", v, snap); err != nil {
			return err
		}
		if err := s.mem.ApplySnapshot(snap); err != nil {
			return fmt.Errorf("%w: snapshot: %v", ErrCorruptLog, err)
		}
	}
	s.snap = pb.EnsureSnapshot(snap)
	first := snap.GetMetadata().GetIndex() + 1
	var ents []*pb.Entry
	c := lg.Cursor()
	for k, v := c.Seek(logKey(first)); k != nil; k, v = c.Next() {
		e := &pb.Entry{}
		idx := binary.BigEndian.Uint64(k)
		if err := unseal(fmt.Sprintf("entry %d", idx), v, e); err != nil {
			return err
		}
		if len(k) != 8 || e.GetIndex() != idx || idx != first+uint64(len(ents)) {
			return fmt.Errorf("%w: entry %d is out of place (index %d, %d expected)", ErrCorruptLog, idx, e.GetIndex(), first+uint64(len(ents)))
		}
		ents = append(ents, e)
	}
	hs := &pb.HardState{}
	if v := meta.Get(keyHard); v != nil {
		if err := unseal("hard state", v, hs); err != nil {
			return err
		}
	}
	last := first - 1 + uint64(len(ents))
	if hs.GetCommit() > last || (hs.GetCommit() < first-1 && v0(hs)) {
		return fmt.Errorf("%w: commit index %d outside the log [%d, %d] (entries lost)", ErrCorruptLog, hs.GetCommit(), first-1, last)
	}
	if err := s.mem.SetHardState(hs); err != nil {
		return err
	}
	return s.mem.Append(ents)
}

// v0 reports whether a hard state was ever written.
func v0(hs *pb.HardState) bool { return hs.GetTerm() != 0 }

// save makes a Ready's state durable: snapshot, entries (replacing any
// conflicting tail) and hard state in one transaction, then in memory.
func (s *logStore) save(hs *pb.HardState, ents []*pb.Entry, snap *pb.Snapshot) error {
	hasHS, hasSnap := !raft.IsEmptyHardState(hs), !raft.IsEmptySnap(snap)
	if !hasHS && !hasSnap && len(ents) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, lg := tx.Bucket(bucketMeta), tx.Bucket(bucketLog)
		if hasSnap {
			if err := putSnapshot(meta, lg, snap, snap.GetMetadata().GetIndex()); err != nil {
				return err
			}
		}
		if len(ents) > 0 {
			if err := deleteFrom(lg, ents[0].GetIndex()); err != nil {
				return err
			}
			for _, e := range ents {
				if err := putProto(lg, logKey(e.GetIndex()), e); err != nil {
					return err
				}
			}
		}
		if hasHS {
			return putProto(meta, keyHard, hs)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: writing the raft log %s: %w", s.path, err)
	}
	if hasSnap {
		if err := s.mem.ApplySnapshot(snap); err != nil {
			return err
		}
		s.snap = snap
	}
	if hasHS {
		if err := s.mem.SetHardState(hs); err != nil {
			return err
		}
	}
	return s.mem.Append(ents)
}

// snapshot records the state machine as of index and compacts the log,
// keeping SnapshotKeep entries before index.
func (s *logStore) snapshot(index uint64, cs *pb.ConfState, data []byte) error {
	snap, err := s.mem.CreateSnapshot(index, cs, data)
	if err != nil {
		return err
	}
	compact := uint64(0)
	if index > SnapshotKeep {
		compact = index - SnapshotKeep
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return putSnapshot(tx.Bucket(bucketMeta), tx.Bucket(bucketLog), snap, compact)
	})
	if err != nil {
		return fmt.Errorf("cluster: writing a snapshot to %s: %w", s.path, err)
	}
	s.snap = snap
	if first, _ := s.mem.FirstIndex(); compact >= first {
		return s.mem.Compact(compact)
	}
	return nil
}

// putSnapshot stores snap and deletes the log's entries up to upto.
func putSnapshot(meta, lg *bolt.Bucket, snap *pb.Snapshot, upto uint64) error {
	if err := putProto(meta, keySnap, snap); err != nil {
		return err
	}
	c := lg.Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= upto; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func deleteFrom(lg *bolt.Bucket, from uint64) error {
	c := lg.Cursor()
	for k, _ := c.Seek(logKey(from)); k != nil; k, _ = c.Seek(logKey(from)) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func putProto(b *bolt.Bucket, key []byte, m proto.Message) error {
	v, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return b.Put(key, seal(v))
}

func (s *logStore) close() error { return s.db.Close() }
