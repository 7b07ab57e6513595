/*
 * urpc.pml: SPIN model of isle's urpc ring (internal/urpc) and of the
 * doorbell's sleep/wake handshake.
 *
 * One producer sends N messages through a ring of SIZE slots (N > 2*SIZE, so
 * the ring wraps around more than twice) to one consumer that polls, and
 * sleeps on its doorbell when it finds nothing.
 *
 * What is modelled, as in the Go code:
 *   - a slot is a header (the sequence number position+1, which encodes the
 *     lap) and a payload (here the message's position, so that a lost,
 *     repeated, reordered or overwritten message shows);
 *   - the producer writes the payload, then the header; the consumer reads
 *     the header of its next slot, then the payload, and never writes a slot;
 *   - lazy flow control: the consumer publishes its read position only when
 *     it has read half a ring since it last did, and before it sleeps; the
 *     producer caches that position and re-reads it only when the ring looks
 *     full;
 *   - batching: after each send the producer may ring the doorbell or not;
 *     it always rings after its last message and when the ring is full;
 *   - the doorbell: the consumer arms it (sleeping = 1), re-checks its ring,
 *     then either disarms it or waits for a token; Ring() reads sleeping,
 *     and if it is 1, swaps it to 0 (compare-and-swap) and then leaves a
 *     token (a channel of capacity 1, so a token already there is kept);
 *   - the producer's stores are release stores only (x86 TSO): they go
 *     through a FIFO store buffer that drains into memory whenever it likes.
 *     Ring() starts with a full barrier, which waits for the buffer to
 *     drain. The consumer's Arm is a sequentially consistent store.
 *     With -DMEMBARRIER, Ring() has no barrier and Arm instead waits until
 *     the producer's buffer has drained, as membarrier(2) forces it to.
 *
 * What is checked:
 *   - every message arrives once, in order, with its own payload (assert);
 *   - the producer never overwrites a slot the consumer has not read (the
 *     payload assert catches it);
 *   - no state where the consumer sleeps, no token is pending, the producer
 *     has finished and a message is unread (the monitor's assert), and no
 *     deadlock: both processes must reach their end (invalid end states).
 *
 * Mutations, each of which must make the check fail (model_test.go in
 * internal/urpc runs them): -DNO_RECHECK (sleep without re-checking the
 * ring), -DNO_LAST_NOTIFY (no doorbell after the last message), -DNO_FENCE
 * (Ring() without its barrier), -DMEMBARRIER -DNO_RECHECK, and
 * -DNO_RELEASE -DHALF=SIZE+1 (a consumer that never publishes its read
 * position: the producer waits for ever).
 *
 * -DNO_RELEASE alone passes: because the consumer publishes after every
 * half ring, fewer than HALF read slots are ever unpublished, so a producer
 * that finds the ring full always finds unread messages in it, and their
 * consumer is awake. Publishing before sleeping only frees slots sooner.
 */

#ifndef SIZE
#define SIZE 4
#endif
#ifndef N
#define N 9
#endif
#ifndef HALF
#define HALF (SIZE / 2)  /* the consumer publishes after reading this many */
#endif

byte hdr[SIZE];      /* slot headers in memory: position+1 of the message */
byte data[SIZE];     /* slot payloads in memory */
byte read = 0;       /* the consumer's published read position */
bit sleeping = 0;    /* the doorbell's flag */
chan token = [1] of { bit };  /* the doorbell's wake channel */

/* The producer's store buffer: (is header?, slot, value), drained in order. */
chan sb = [4] of { bit, byte, byte };

bool producerDone = false;
byte received = 0;
bool asleep = false; /* the consumer is blocked in Wait */

/* A store by the producer: into its store buffer. */
inline store(isHdr, i, v) {
	sb!isHdr, i, v
}

/* The full barrier: wait until the store buffer has drained. */
inline barrier() {
	empty(sb)
}

inline ring() {
#if !defined(NO_FENCE) && !defined(MEMBARRIER)
	barrier();
#endif
	if
	:: sleeping == 1 ->
		atomic {
			if
			:: sleeping == 1 -> sleeping = 0; woke = 1
			:: else -> skip
			fi
		}
		if
		:: woke ->
			woke = 0;
			if
			:: nfull(token) -> token!1
			:: full(token) -> skip
			fi
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/* The store buffer drains into memory in order, whenever it likes. */
active proctype Drain() {
	bit isHdr;
	byte i, v;
end:
	do
	:: atomic {
		sb?isHdr, i, v ->
		if
		:: isHdr -> hdr[i] = v
		:: else -> data[i] = v
		fi
	   }
	od
}

active proctype Producer() {
	byte head = 0, cached = 0;
	bit woke = 0;
	do
	:: head < N ->
		if
		:: head - cached >= SIZE -> cached = read  /* looks full: re-read */
		:: else -> skip
		fi;
		if
		:: head - cached >= SIZE ->
			/* Full: ring, then wait for the consumer to release. */
			ring();
			(read != cached)
		:: else ->
			store(0, head % SIZE, head);      /* payload */
			store(1, head % SIZE, head + 1);  /* header, published last */
			head++;
			if
			:: ring()   /* Send, or Notify at the end of a batch */
			:: skip     /* TrySend, more of the batch to come */
			fi
		fi
	:: else -> break
	od;
#ifndef NO_LAST_NOTIFY
	ring();
#endif
	producerDone = true
}

active proctype Consumer() {
	byte tail = 0, published = 0, v;
	bit t;
	do
	:: received == N -> break
	:: else ->
		if
		:: hdr[tail % SIZE] == tail + 1 ->   /* Recv */
			v = data[tail % SIZE];
			assert(v == tail);
			/* the header still says this message: not overwritten */
			assert(hdr[tail % SIZE] == tail + 1);
			tail++;
			received++;
			if
			:: tail - published >= HALF -> published = tail; read = tail
			:: else -> skip
			fi
		:: else ->
			/* Empty: release, arm, re-check, then sleep or go on. */
#ifndef NO_RELEASE
			if
			:: published != tail -> published = tail; read = tail
			:: else -> skip
			fi;
#endif
			sleeping = 1;
#ifdef MEMBARRIER
			barrier();
#endif
#ifndef NO_RECHECK
			if
			:: hdr[tail % SIZE] == tail + 1 -> sleeping = 0  /* Disarm */
			:: else ->
#endif
				atomic { asleep = true; token?t; asleep = false }
#ifndef NO_RECHECK
			fi
#endif
		fi
	od
}

/* No state where the consumer sleeps with no token pending while the
 * producer has finished and a message is unread. */
active proctype Monitor() {
end:
	atomic {
		asleep && empty(token) && producerDone && empty(sb) && received < N ->
		assert(false)
	}
}
