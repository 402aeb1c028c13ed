using System;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace Kiln;

/// <summary>
/// Loads batches ahead of the consumer on background threads, into a ring of preallocated
/// batches: while the training thread works on one batch, the loaders fill the next
/// <c>bufferSize</c>. Batches come out in exactly the order <see cref="BatchPipeline"/> gives
/// them (the loaders only share the work of filling rows), so a seed fixes a run whatever the
/// thread count. Loading continues across the end of a pass, so an epoch never starts empty.
/// A consumer that finds its batch unfinished (loaders starved of CPU) loads rows of it itself
/// instead of sleeping, so prefetching is never slower than loading on the training thread.
/// Nothing is allocated per batch by the consumer or by the loaders (beyond what the source
/// itself allocates to decode a file). An error on a loader thread is rethrown by the
/// <see cref="Next"/> that reaches the batch it happened in; the batches before it come out
/// first. Dispose to stop the threads.
/// </summary>
public sealed class PrefetchPipeline : IBatchSource
{
    private enum SlotState { Free, Filling, Ready, Held }

    private sealed class Slot(int batchSize, int sampleSize, int targetSize, float[]? sampleWeights)
    {
        public readonly BatchSlot Batch = new(batchSize, sampleSize, targetSize, sampleWeights);
        public SlotState State;
        public bool EndOfPass;
        public int Claimed;   // rows handed to loaders
        public int Remaining; // rows not yet loaded
        public long Plan;     // which batch of the stream this slot holds
    }

    private readonly BatchPipeline _batches;
    private readonly Slot[] _slots;
    private readonly int _threads;
    private readonly object _gate = new();
    private readonly long[] _loaderAllocated;
    private BatchPlanner? _planner;
    private SampleReader? _consumerReader;
    private Thread[]? _workers;
    private Slot? _filling, _held;
    private long _planned, _consumed;
    private int _free;            // slots neither filling, ready nor held
    private bool _ringWasFull;    // set when the loaders took the last free slot
    private readonly int _resume; // free slots that wake a loader whose ring was full
    private ExceptionDispatchInfo? _error;
    private long _errorPlan = long.MaxValue; // the earliest batch whose loading failed
    private bool _stopping;
    private long _waitTicks, _batchCount, _samples, _dropped;

    internal PrefetchPipeline(BatchPipeline batches, int bufferSize, int threads)
    {
        _batches = batches;
        _threads = threads;
        _slots = new Slot[bufferSize + 1];
        for (int i = 0; i < _slots.Length; i++) _slots[i] = new Slot(batches.BatchSize, batches.SampleSize, batches.TargetSize, batches.Pipeline.SourceWeights);
        _loaderAllocated = new long[threads];
        _free = _slots.Length;
        // Loaders that found the ring full sleep until half of it is free, then fill it again in
        // one go: one wake-up per several batches instead of one per batch, so a loader that the
        // OS schedules late (busy cores) still finishes before the consumer runs dry.
        _resume = Math.Max(1, _slots.Length / 2);
    }

    public int BatchSize => _batches.BatchSize;
    public int[] SampleShape => _batches.SampleShape;
    public int SampleSize => _batches.SampleSize;
    public int TargetSize => _batches.TargetSize;
    public long SamplesPerPass => _batches.SamplesPerPass;
    public long BatchesPerPass => _batches.BatchesPerPass;
    public int Threads => _threads;

    /// <summary>Batches prepared ahead of the one the consumer holds.</summary>
    public int BufferSize => _slots.Length - 1;

    /// <summary>Batches and samples handed out, samples dropped, the time the consumer waited for a loader, and what the loaders allocated.</summary>
    public PipelineStats Stats
    {
        get
        {
            lock (_gate)
            {
                long allocated = 0;
                foreach (long a in _loaderAllocated) allocated += a;
                return new(_batchCount, _samples, _dropped, Stopwatch.GetElapsedTime(0, _waitTicks), allocated);
            }
        }
    }

    public bool Next(out Batch batch)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_held is not null)
            {
                _held.State = SlotState.Free;
                _held = null;
                if (++_free >= _resume) Monitor.PulseAll(_gate);
            }
            if (_workers is null) Start();
            long waitStart = 0;
            try
            {
                while (true)
                {
                    var slot = _slots[_consumed % _slots.Length];
                    if (slot.State == SlotState.Ready)
                    {
                        _consumed++;
                        if (slot.EndOfPass || slot.Batch.Count == 0)
                        {
                            slot.State = SlotState.Free;
                            if (++_free >= _resume) Monitor.PulseAll(_gate);
                            if (!slot.EndOfPass) continue; // every sample was a skipped corrupt file
                            batch = default;
                            return false;
                        }
                        slot.State = SlotState.Held;
                        _held = slot;
                        _batchCount++;
                        _samples += slot.Batch.Count;
                        batch = slot.Batch.AsBatch();
                        return true;
                    }
                    // A failure in a later batch waits until the consumer reaches it: the batches
                    // before it had all their rows claimed, so their loaders finish them.
                    if (_error is not null && (slot.State == SlotState.Free || slot.Plan >= _errorPlan)) _error.Throw();
                    if (waitStart == 0) waitStart = Stopwatch.GetTimestamp();
                    // Rather than sleep while the loaders are late (busy cores), load rows of the
                    // batch we wait for ourselves: never slower than loading without prefetch.
                    if ((_filling == slot || (slot.State == SlotState.Free && _planned == _consumed))
                        && TryClaim(out var claimed, out int first, out int count))
                    {
                        Exception? failure = null;
                        Monitor.Exit(_gate);
                        try { LoadRows(claimed, first, count, _consumerReader!); }
                        catch (Exception e) { failure = e; }
                        finally { Monitor.Enter(_gate); }
                        if (failure is not null)
                        {
                            RecordError(failure, claimed.Plan);
                            _error!.Throw();
                        }
                        FinishRows(claimed, count);
                        continue;
                    }
                    Monitor.Wait(_gate);
                }
            }
            finally
            {
                if (waitStart != 0) _waitTicks += Stopwatch.GetTimestamp() - waitStart;
            }
        }
    }

    /// <summary>Stops and joins the loader threads.</summary>
    public void Dispose()
    {
        Thread[]? workers;
        lock (_gate)
        {
            _stopping = true;
            workers = _workers;
            Monitor.PulseAll(_gate);
        }
        if (workers is null) return;
        foreach (var t in workers) t.Join();
    }

    private void Start()
    {
        _planner = _batches.CreatePlanner();
        _consumerReader = _batches.Pipeline.CreateReader();
        _workers = new Thread[_threads];
        for (int w = 0; w < _threads; w++)
        {
            int id = w;
            _workers[w] = new Thread(() => Work(id)) { IsBackground = true, Name = $"Kiln loader {w}" };
        }
        foreach (var t in _workers) t.Start();
    }

    private void Work(int id)
    {
        var reader = _batches.Pipeline.CreateReader();
        long baseline = GC.GetAllocatedBytesForCurrentThread();
        while (true)
        {
            Slot slot;
            int first, count;
            lock (_gate)
            {
                while (!TryClaim(out slot, out first, out count))
                {
                    if (_stopping || _error is not null) return;
                    Monitor.Wait(_gate);
                }
                // Measured under the lock, where Stats reads it; the reader's warm-up counts once.
                _loaderAllocated[id] = GC.GetAllocatedBytesForCurrentThread() - baseline;
            }
            try
            {
                LoadRows(slot, first, count, reader);
            }
            catch (Exception e)
            {
                lock (_gate) RecordError(e, slot.Plan);
                return;
            }
            lock (_gate)
            {
                FinishRows(slot, count);
                _loaderAllocated[id] = GC.GetAllocatedBytesForCurrentThread() - baseline;
            }
        }
    }

    /// <summary>Under the lock: keeps the failure of the earliest batch, the one the consumer will reach first.</summary>
    private void RecordError(Exception e, long plan)
    {
        if (plan < _errorPlan)
        {
            _error = ExceptionDispatchInfo.Capture(e);
            _errorPlan = plan;
        }
        Monitor.PulseAll(_gate);
    }

    private static void LoadRows(Slot slot, int first, int count, SampleReader reader)
    {
        var rows = slot.Batch;
        for (int r = first; r < first + count; r++) rows.Ok[r] = rows.ReadRow(reader, r);
    }

    /// <summary>Under the lock: counts loaded rows; the last one publishes the batch.</summary>
    private void FinishRows(Slot slot, int count)
    {
        slot.Remaining -= count;
        if (slot.Remaining != 0) return;
        _dropped += slot.Batch.Compact();
        slot.State = SlotState.Ready;
        Monitor.PulseAll(_gate);
    }

    /// <summary>
    /// Under the lock: hands out rows of the batch being filled, or plans the next batch into
    /// the next free slot of the ring. Rows go out in chunks so that cheap samples (in-memory
    /// data) do not take the lock once each, while a few threads still share a batch evenly.
    /// </summary>
    private bool TryClaim(out Slot slot, out int first, out int count)
    {
        slot = null!;
        first = count = 0;
        if (_stopping || _error is not null) return false;
        while (true)
        {
            if (_filling is not null && _filling.Claimed < _filling.Batch.Count)
            {
                slot = _filling;
                first = slot.Claimed;
                int chunk = Math.Max(1, slot.Batch.Count / (4 * _threads));
                count = Math.Min(chunk, slot.Batch.Count - first);
                slot.Claimed += count;
                return true;
            }
            var next = _slots[_planned % _slots.Length];
            if (next.State != SlotState.Free) return false;
            if (_ringWasFull && _free < _resume) return false;
            int n = _planner!.Plan(next.Batch.Indices);
            next.Plan = _planned++;
            _ringWasFull = --_free == 0;
            next.Batch.Count = n;
            next.EndOfPass = n == 0;
            next.Claimed = 0;
            next.Remaining = n;
            if (n == 0)
            {
                next.State = SlotState.Ready;
                _filling = null;
                Monitor.PulseAll(_gate);
                continue;
            }
            next.State = SlotState.Filling;
            _filling = next;
        }
    }
}
