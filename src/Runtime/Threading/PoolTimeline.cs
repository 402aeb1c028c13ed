using System;
using System.Diagnostics;
using System.Threading;

namespace Kiln.Threading;

/// <summary>
/// A recording of what the shared pool ran, for the benchmarks' step timeline (Kiln.Benchmarks --only steptimeline): each
/// run's job type, when the caller handed it out and saw it done, and when each thread ran each of its parts; jobs run on
/// the caller alone are recorded too. That says where a training step's parallel time goes: a thread that waits for the
/// other's part, and the serial stretches between runs. Off (and costing one static read a run) unless a benchmark sets
/// <see cref="Current"/>; recording allocates nothing, and events past the capacity are dropped.
/// </summary>
internal sealed class PoolTimeline
{
    public enum Kind : byte { RunStart, RunEnd, Part, Inline, Mark }

    /// <summary>One event: a run's start or end (Thread 0), a part (Thread = the share that ran it, 0 the caller), an inline run (Start..End) or a mark.</summary>
    public struct Event
    {
        public Kind Kind;
        public int Thread, Generation, Part;
        public Type? Job;
        public long Start, End;
    }

    /// <summary>The recording in progress, or null (the usual case).</summary>
    public static PoolTimeline? Current;

    private readonly Event[] _events;
    private int _count;

    public PoolTimeline(int capacity) => _events = new Event[capacity];

    /// <summary>The events recorded so far, in the order their recording began (a part's event is written when it ends).</summary>
    public ReadOnlySpan<Event> Events => _events.AsSpan(0, Math.Min(Volatile.Read(ref _count), _events.Length));

    /// <summary>Events that found the recording full and were dropped.</summary>
    public int Dropped => Math.Max(0, Volatile.Read(ref _count) - _events.Length);

    /// <summary>Marks a point on the caller's thread, e.g. the start of a step (<paramref name="tag"/> is kept as its Part).</summary>
    public void Mark(int tag) => Add(new Event { Kind = Kind.Mark, Part = tag, Start = Stopwatch.GetTimestamp() });

    internal void RunStart(ParallelJob job, int generation) =>
        Add(new Event { Kind = Kind.RunStart, Generation = generation, Job = job.GetType(), Start = Stopwatch.GetTimestamp() });

    internal void RunEnd(int generation) => Add(new Event { Kind = Kind.RunEnd, Generation = generation, End = Stopwatch.GetTimestamp() });

    internal void Part(int thread, int generation, int part, long start) =>
        Add(new Event { Kind = Kind.Part, Thread = thread, Generation = generation, Part = part, Start = start, End = Stopwatch.GetTimestamp() });

    internal void Inline(ParallelJob job, long start) =>
        Add(new Event { Kind = Kind.Inline, Job = job.GetType(), Start = start, End = Stopwatch.GetTimestamp() });

    private void Add(in Event e)
    {
        int i = Interlocked.Increment(ref _count) - 1;
        if (i < _events.Length) _events[i] = e;
    }
}
