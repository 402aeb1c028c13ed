using System;
using System.Diagnostics;

namespace Kiln;

/// <summary>
/// A pipeline cut into batches, loaded on the caller's thread when <see cref="Next"/> asks.
/// <see cref="Prefetch"/> gives the same batches, loaded ahead on background threads.
/// </summary>
public sealed class BatchPipeline : IBatchSource
{
    private BatchSlot? _slot;
    private BatchPlanner? _planner;
    private SampleReader? _reader;
    private long _waitTicks, _batches, _samples, _dropped;

    internal BatchPipeline(Pipeline pipeline, int batchSize, bool dropRemainder)
    {
        Pipeline = pipeline;
        BatchSize = batchSize;
        DropRemainder = dropRemainder;
        long count = pipeline.Count;
        SamplesPerPass = count < 0 ? -1 : dropRemainder ? count / batchSize * batchSize : count;
        BatchesPerPass = count < 0 ? -1 : dropRemainder ? count / batchSize : (count + batchSize - 1) / batchSize;
    }

    public Pipeline Pipeline { get; }
    public int BatchSize { get; }
    public bool DropRemainder { get; }
    public int[] SampleShape => Pipeline.SampleShape;
    public int SampleSize => Pipeline.SampleSize;
    public int TargetSize => Pipeline.TargetSize;
    public long SamplesPerPass { get; }
    public long BatchesPerPass { get; }

    /// <summary>Time spent inside <see cref="Next"/> (here: all the loading), batches and samples handed out, samples dropped.</summary>
    public PipelineStats Stats => new(_batches, _samples, _dropped, Stopwatch.GetElapsedTime(0, _waitTicks), 0);

    /// <summary>
    /// The same batches, loaded by <paramref name="threads"/> background threads into
    /// <paramref name="bufferSize"/> + 1 preallocated batches (1 is double buffering), so that
    /// loading the next batches overlaps training on this one. The default of 4 ahead rides out
    /// a loader that the OS schedules late on busy cores (benchmarks/README.md: the seed-004 MLP
    /// waits 1% of an epoch with 4–8 ahead, 5% with 1); large image batches may want fewer.
    /// </summary>
    public PrefetchPipeline Prefetch(int bufferSize = 4, int threads = 1)
    {
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "prefetch at least one batch");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "at least one loader thread");
        return new PrefetchPipeline(this, bufferSize, threads);
    }

    public bool Next(out Batch batch)
    {
        long start = Stopwatch.GetTimestamp();
        _slot ??= new BatchSlot(BatchSize, SampleSize, TargetSize, Pipeline.SourceWeights);
        _planner ??= new BatchPlanner(Pipeline.BuildIndexStream(), BatchSize, DropRemainder);
        _reader ??= Pipeline.CreateReader();
        try
        {
            while (true)
            {
                int n = _planner.Plan(_slot.Indices);
                if (n == 0)
                {
                    batch = default;
                    return false;
                }
                for (int r = 0; r < n; r++) _slot.Ok[r] = _slot.ReadRow(_reader, r);
                _slot.Count = n;
                _dropped += _slot.Compact();
                if (_slot.Count == 0) continue; // every sample of this batch was a skipped corrupt file
                _batches++;
                _samples += _slot.Count;
                batch = _slot.AsBatch();
                return true;
            }
        }
        finally
        {
            _waitTicks += Stopwatch.GetTimestamp() - start;
        }
    }

    public void Dispose() { }

    internal BatchPlanner CreatePlanner() => new(Pipeline.BuildIndexStream(), BatchSize, DropRemainder);
}

/// <summary>What a batch source has handed out, and how long its consumer waited for it.</summary>
/// <param name="Batches">Batches returned by <c>Next</c>.</param>
/// <param name="Samples">Samples in those batches.</param>
/// <param name="Dropped">Samples the source skipped (corrupt images under the skip policy).</param>
/// <param name="WaitTime">Time the consumer spent inside <c>Next</c>: loading (without prefetch) or waiting for a loader.</param>
/// <param name="LoaderAllocatedBytes">Bytes the background loader threads allocated, for zero-allocation checks.</param>
public readonly record struct PipelineStats(long Batches, long Samples, long Dropped, TimeSpan WaitTime, long LoaderAllocatedBytes);

/// <summary>Pulls each batch's indices from the index stream; marks the end of each pass.</summary>
internal sealed class BatchPlanner(IndexStage stream, int batchSize, bool dropRemainder)
{
    private bool _startPass = true;

    /// <summary>Fills <paramref name="indices"/> with the next batch's sample indices; 0 at the end of a pass (the next call starts another).</summary>
    public int Plan(int[] indices)
    {
        if (_startPass)
        {
            stream.Reset();
            _startPass = false;
        }
        int n = 0;
        while (n < batchSize && stream.Next(out int index)) indices[n++] = index;
        if (n == 0 || (dropRemainder && n < batchSize))
        {
            _startPass = true;
            return 0;
        }
        return n;
    }
}

/// <summary>One preallocated batch: rows of features and targets, their source indices, which rows loaded, and their sample weights when the pipeline has them.</summary>
internal sealed class BatchSlot(int batchSize, int sampleSize, int targetSize, float[]? sourceWeights = null)
{
    public readonly float[] Features = new float[(long)batchSize * sampleSize <= Array.MaxLength ? batchSize * sampleSize
        : throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"a batch of {batchSize} samples of {sampleSize} values is larger than one array holds; use a smaller batch")];
    public readonly float[] Targets = new float[batchSize * targetSize];
    public readonly int[] Indices = new int[batchSize];
    public readonly float[]? Weights = sourceWeights is null ? null : new float[batchSize];
    public readonly bool[] Ok = new bool[batchSize];
    public int Count;

    public bool ReadRow(SampleReader reader, int row) =>
        reader.Read(Indices[row], Features.AsSpan(row * sampleSize, sampleSize), Targets.AsSpan(row * targetSize, targetSize));

    /// <summary>Moves the loaded rows down over dropped ones; returns how many were dropped.</summary>
    public int Compact()
    {
        int kept = 0;
        for (int r = 0; r < Count; r++)
        {
            if (!Ok[r]) continue;
            if (kept != r)
            {
                Features.AsSpan(r * sampleSize, sampleSize).CopyTo(Features.AsSpan(kept * sampleSize));
                Targets.AsSpan(r * targetSize, targetSize).CopyTo(Targets.AsSpan(kept * targetSize));
                Indices[kept] = Indices[r];
            }
            kept++;
        }
        int dropped = Count - kept;
        Count = kept;
        return dropped;
    }

    /// <summary>The loaded rows as a batch; each row's sample weight is looked up by its source index here, after any dropped rows were compacted away.</summary>
    public Batch AsBatch()
    {
        if (Weights is not null)
            for (int r = 0; r < Count; r++) Weights[r] = sourceWeights![Indices[r]];
        return new(Features, Targets, Indices, Count, sampleSize, targetSize, Weights);
    }
}
