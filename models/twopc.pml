/*
 * twopc.pml: SPIN model of isle's two-phase commit (internal/replica/twopc.go,
 * docs/replica.md), for one transaction: one coordinator, NP participants
 * (2 by default; spin -DNP=3 for three).
 *
 * Modelled:
 *   - Prepare / Vote (Yes or No: No stands for a key locked by a conflicting
 *     transaction) / Commit / Abort / Query, each message possibly lost
 *     (at most MAXLOSS losses in a run, so that a run can always end);
 *   - the coordinator's prepare timeout, which may fire at any moment while
 *     it is undecided (covers every choice of PrepareTimeout and delays);
 *   - presumed abort: after deciding, the coordinator answers a Query or a
 *     late Vote with its decision (an aborted transaction is forgotten, so
 *     the answer to anything is Abort);
 *   - participant queries when nothing else can happen (Promela timeout),
 *     and up to MAXEARLY times at any moment (a query timer that fires
 *     while the coordinator still collects votes), to the coordinator and
 *     to every other participant (cooperative termination): a participant
 *     that knows the outcome answers it, one that never voted Yes answers
 *     Abort and promises never to vote Yes;
 *   - crashes: up to MAXCRASH processes stop for good (fail-stop), each at
 *     any one of its first CMAX steps.
 *
 * Checked (models/twopc_test in internal/replica runs both):
 *   1. safety run (pan compiled with -DNOCLAIM): the assertions
 *      - agreement: no replica commits while another aborts;
 *      - visibility: once the run is quiet, a committed write is applied on
 *        every participant that did not crash, except one that is blocked,
 *        which the model allows only when the coordinator crashed and no
 *        live participant knows the outcome (the blocking case of 2PC);
 *      and no invalid end states: every process ends waiting at an end
 *      label, so no run gets stuck in the middle of a round.
 *   2. liveness run (pan -a, claim "ends"): every run eventually stays in a
 *      state where the round is over: the coordinator has decided or
 *      crashed and every live participant holds no lock, or is blocked.
 */

#ifndef NP
#define NP 2
#endif
#ifndef MAXLOSS
#define MAXLOSS 2
#endif
#ifndef MAXCRASH
#define MAXCRASH 1 /* processes that may crash in one run */
#endif
#ifndef MAXEARLY
#define MAXEARLY 1 /* queries a participant may send while the coordinator still decides */
#endif
#define CMAX 8 /* a process crashes, if it does, at one of its first CMAX steps */

#define U 0 /* undecided */
#define C 1 /* committed */
#define A 2 /* aborted */

#define COORD NP /* the coordinator's index in the arrays below */

mtype = { PREPARE, YES, NO, COMMIT, ABORT, QUERY };

/* One inbox per process, as each core has its rings; the second field is
 * the sender. */
chan inbox[NP+1] = [3] of { mtype, byte };

byte outcome[NP+1];  /* what each replica did with the write */
bool crashed[NP+1];
byte crashAt[NP+1]; /* 0: never; n: at its n-th step (chosen by init) */
bool locked[NP];     /* participant holds the key for the transaction */
bool blocked[NP];    /* participant gave up asking: 2PC's blocking case */
byte losses;
byte early;          /* queries sent before a timeout, at most MAXEARLY */

/* send m from -> to; the network may lose it, and a full inbox drops it
 * (sends never block, as urpc senders drop to retry later). */
inline send(dst, msg, src) {
	atomic {
		if
		:: losses < MAXLOSS -> losses++
		:: nfull(inbox[dst]) -> inbox[dst] ! msg, src
		:: full(inbox[dst]) -> skip
		fi
	}
}

/* A point where process me may crash: at its crashAt[me]-th step. Crashes
 * are chosen up front rather than offered at every step, so that a live
 * process waiting for a message is blocked and Promela's timeout (which
 * fires only when nothing else can move) stands for a retransmission timer. */
inline crashpoint(me) {
	if
	:: steps < 255 -> steps++
	:: else
	fi;
	if
	:: steps == crashAt[me] -> crashed[me] = true; goto dead
	:: else
	fi
}

/* Agreement, asserted at every decision. */
inline decide(me, o) {
	atomic {
		outcome[me] = o;
		for (k : 0 .. NP) {
			assert(!(outcome[k] == C && o == A) && !(outcome[k] == A && o == C))
		}
	}
}

/* Every live participant other than me holds the lock without knowing the
 * outcome (or has crashed): nobody alive can tell me anything. */
#define noneKnows(me) (noneKnowsAt(me, 0) && noneKnowsAt(me, 1) && noneKnowsAt(me, 2) && noneKnowsAt(me, 3))
#define noneKnowsAt(me, j) (j >= NP || j == me || crashed[j] || (locked[j] && outcome[j] == U))

proctype Coordinator() {
	byte k, from, yes, steps;
	bool voted[NP];
	mtype m;

	/* The key is free locally (a local conflict aborts before any message). */
	for (k : 0 .. NP-1) {
		crashpoint(COORD);
		send(k, PREPARE, COORD)
	}
	do
	:: inbox[COORD] ? m, from ->
		crashpoint(COORD);
		if
		:: m == YES && !voted[from] ->
			voted[from] = true;
			yes++;
			if
			:: yes == NP -> goto commit
			:: else
			fi
		:: m == NO -> goto abort
		:: else /* a duplicate, or a Query: undecided, no answer */
		fi
	:: goto abort /* prepare timeout: may fire at any moment */
	od;
commit:
	decide(COORD, C);
	goto tell;
abort:
	decide(COORD, A);
tell:
	skip; /* a label on a for would skip its initialisation */
	for (k : 0 .. NP-1) {
		crashpoint(COORD);
		if
		:: outcome[COORD] == C -> send(k, COMMIT, COORD)
		:: outcome[COORD] == A -> send(k, ABORT, COORD)
		fi
	}
	/* Answer queries and late votes from the decision (presumed abort). */
end_serve:
	do
	:: inbox[COORD] ? m, from ->
		crashpoint(COORD);
		if
		:: m == QUERY || m == YES ->
			if
			:: outcome[COORD] == C -> send(from, COMMIT, COORD)
			:: outcome[COORD] == A -> send(from, ABORT, COORD)
			fi
		:: else
		fi
	od;
dead:
	skip
}

/* Ask the coordinator and every other participant for the outcome. */
inline query(me) {
	send(COORD, QUERY, me);
	for (k : 0 .. NP-1) {
		if
		:: k != me -> send(k, QUERY, me)
		:: else
		fi
	}
}

proctype Participant(byte me) {
	byte from, k, steps;
	mtype m;

	/* Not voted Yes: holds nothing. */
end_idle:
	do
	:: inbox[me] ? m, from ->
		crashpoint(me);
		if
		:: m == PREPARE ->
			if
			:: locked[me] = true; crashpoint(me); send(COORD, YES, me); goto prepared
			:: send(COORD, NO, me) /* conflict: keeps no state */
			fi
		:: m == ABORT -> decide(me, A); goto done
		:: m == QUERY -> /* promise never to vote Yes */
			decide(me, A); send(from, ABORT, me); goto done
		:: m == COMMIT -> assert(false) /* commit needs my Yes */
		:: else
		fi
	od;

prepared:
	do
	:: inbox[me] ? m, from ->
		crashpoint(me);
		if
		:: m == COMMIT -> decide(me, C); locked[me] = false; goto done
		:: m == ABORT -> decide(me, A); locked[me] = false; goto done
		:: else /* a duplicate Prepare, or a peer's Query: as uncertain as it */
		fi
	:: timeout ->
		if
		:: crashed[COORD] && noneKnows(me) -> blocked[me] = true; goto end_blocked
		:: else -> query(me)
		fi
	:: atomic { early < MAXEARLY -> early++ }; query(me) /* a query timer firing early */
	od;

	/* Holds the lock for good; still takes a decision should one come. */
end_blocked:
	do
	:: inbox[me] ? m, from ->
		if
		:: m == COMMIT -> decide(me, C); locked[me] = false; blocked[me] = false; goto done
		:: m == ABORT -> decide(me, A); locked[me] = false; blocked[me] = false; goto done
		:: else
		fi
	od;

	/* Knows the outcome: answers peers, ignores the rest. */
done:
end_done:
	do
	:: inbox[me] ? m, from ->
		crashpoint(me);
		if
		:: m == QUERY && outcome[me] == C -> send(from, COMMIT, me)
		:: m == QUERY && outcome[me] == A -> send(from, ABORT, me)
		:: else
		fi
	od;
dead:
	skip
}

/* Quiet: nothing in flight and nobody can move but by a timeout. */
#define emptyAll (empty(inbox[0]) && empty(inbox[1]) && (NP < 3 || empty(inbox[2])) && (NP < 4 || empty(inbox[3])) && empty(inbox[COORD]))

#define settledAt(i) (i >= NP || crashed[i] || !locked[i] || blocked[i])
#define roundOver ((outcome[COORD] != U || crashed[COORD]) && settledAt(0) && settledAt(1) && settledAt(2) && settledAt(3))

/* A live participant may lack a committed write only if it is blocked: the
 * coordinator crashed and no live participant knows the outcome. */
#define liveCommitted(j) (j < NP && !crashed[j] && outcome[j] == C)
#define someLiveCommitted (liveCommitted(0) || liveCommitted(1) || liveCommitted(2) || liveCommitted(3))
#define visibleAt(i) (i >= NP || crashed[i] || outcome[i] == C || (blocked[i] && crashed[COORD] && !someLiveCommitted))
#define visible (outcome[COORD] != C || (visibleAt(0) && visibleAt(1) && visibleAt(2) && visibleAt(3)))

/* Checks visibility whenever the system is quiet and the round is over. */
active proctype Monitor() {
end_watch:
	do
	:: atomic { timeout && emptyAll && roundOver -> assert(visible) }
	od
}

init {
	byte k, crashes, at;
	atomic {
		for (k : 0 .. NP) {
			if
			:: skip
			:: crashes < MAXCRASH -> crashes++; select(at : 1 .. CMAX); crashAt[k] = at
			fi
		}
		for (k : 0 .. NP-1) {
			run Participant(k)
		}
		run Coordinator()
	}
}

ltl ends { <> [] roundOver }
