using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Kiln;
using Kiln.Distributed;
using Kiln.Distributed.Worker;

// One rank of the runs Kiln.Distributed.Tests checks: worker <scenario> <directory>.
//   equivalence  ReplicaMlp, per-rank batch 16, 193 samples with sample weights (the last global batch of 1 leaves rank 0 none),
//                3 epochs of SGD with momentum, validation; rank 0 writes weights.safetensors and history.csv.
//   full         ReplicaBatchNormNet, 4 epochs, a training checkpoint each epoch (ckpt-NN.safetensors), final.safetensors.
//   resume       the same from ckpt-02.safetensors to epoch 4: resumed.safetensors.
//   die          rank 1 kills itself (SIGKILL) in the 4th step; rank 0 would print "finished" if it ever got there.
//   sources      Fit on batch sources, each rank its own shard of the 193 samples (rank 0 the first 96, rank 1 the
//                other 97, so rank 1 trains the last step alone), 3 epochs; rank 0 writes sources.safetensors.
//   stop         rank 1 alone sets StopTraining after the 3rd batch of epoch 2; every rank prints its step count.
//   mismatch     rank 1 builds its model with another seed: Fit must refuse on every rank.
//   allocations  20 epochs of ReplicaMlp; each rank writes allocated-R.txt: the bytes its thread allocated over
//                steps 2 to 6 of epoch 16 (warmed up, with a pause for tiered compilation in epoch 11).
//   syncbn       ReplicaSyncBnNet (synchronized BatchNormalization), per-rank batch 16, 193 images (rank 0 joins the
//                last step without samples), 3 epochs, validation; rank 0 writes syncbn.safetensors and syncbn-history.csv.
//   plainbn      the same with ReplicaPlainBnNet (per-rank statistics): plainbn.safetensors, plainbn-history.csv.
//   allocations-syncbn  the allocations probe on ReplicaSyncBnNet, with the stateful metrics.
//   stateful     ReplicaMlp with precision, recall, F1 (macro and per class), AUC and mean IoU (counts summed over the
//                ranks), as equivalence without sample weights; rank 0 writes stateful-history.csv.
//   weighted     ReplicaMlp with the stateful metrics and accuracy as WeightedMetrics, on samples weighted 0, 0.5, 1, 1.5
//                in turn (Σ wᵢ and the weighted counts summed over the ranks), as equivalence; rank 0 writes weighted-history.csv.
//   allocations-weighted  the allocations probe on the weighted samples, with the weighted metrics.
//   evaluate     Evaluate over the ranks: ReplicaMlp (seed 3) with the stateful metrics on the 37 weighted validation
//                samples (rank 0 gets 18, rank 1 19); each rank writes evaluate-R.txt, one "name value" a line.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Kiln.Distributed.Worker equivalence|full|resume|die|sources|stop|mismatch|allocations|syncbn|plainbn|allocations-syncbn|stateful|weighted|allocations-weighted|evaluate DIRECTORY");
    return 2;
}
string scenario = args[0], directory = args[1];
KilnSettings.Threads = 1;
using var mpi = Mpi.Initialize();
var train = ReplicaData.Make(193, 7);
var valid = ReplicaData.Make(37, 8);
switch (scenario)
{
    case "equivalence":
    {
        var model = new ReplicaMlp(batchSize: 16, seed: 3);
        model.Fit(ReplicaData.Weighted(train), 3, new Sgd(0.05, momentum: 0.9), validation: valid, verbose: 0,
            callbacks: [new CsvLogger(Path.Combine(directory, "history.csv"))], distributed: mpi);
        if (mpi.IsRoot) model.SaveWeights(Path.Combine(directory, "weights.safetensors"));
        break;
    }
    case "full" or "resume":
    {
        var model = new ReplicaBatchNormNet(batchSize: 16, seed: 5);
        bool resume = scenario == "resume";
        model.Fit(train, 4, new Adam(1e-2f), validation: valid, verbose: 0,
            callbacks: resume ? [] : [new ModelCheckpoint(Path.Combine(directory, "ckpt-{epoch:02d}.safetensors"), saveBestOnly: false)],
            resumeFrom: resume ? Path.Combine(directory, "ckpt-02.safetensors") : null, distributed: mpi);
        if (mpi.IsRoot) model.SaveWeights(Path.Combine(directory, resume ? "resumed.safetensors" : "final.safetensors"));
        break;
    }
    case "die":
    {
        var model = new ReplicaMlp(batchSize: 16, seed: 3);
        var killer = new LambdaCallback
        {
            OnBatchEnd = (batch, _, context) =>
            {
                if (context.Rank == 1 && batch == 3) Process.GetCurrentProcess().Kill();
            },
        };
        model.Fit(train, 1000, new Sgd(0.05), verbose: 0, callbacks: [killer], distributed: mpi);
        Console.WriteLine($"rank {mpi.Rank} finished");
        break;
    }
    case "allocations" or "allocations-syncbn" or "allocations-weighted":
    {
        Model model = scenario switch
        {
            "allocations" => new ReplicaMlp(batchSize: 16, seed: 3),
            "allocations-weighted" => new ReplicaMlp(batchSize: 16, seed: 3) { WeightedMetrics = ReplicaData.StatefulMetrics() },
            _ => new ReplicaSyncBnNet(batchSize: 16, seed: 3) { Metrics = ReplicaData.StatefulMetrics() },
        };
        var data = scenario switch
        {
            "allocations" => train,
            "allocations-weighted" => ReplicaData.WeightedWithZeros(train),
            _ => ReplicaData.Images(193, 7),
        };
        long before = 0, allocated = -1;
        var probe = new LambdaCallback
        {
            OnEpochBegin = (epoch, _) => { if (epoch == 10) Thread.Sleep(300); },
            // Batches 0..5 of epochs 15..19, the smallest window: another thread's collection can
            // charge one window with bytes nothing allocated; a per-step allocation shows in all.
            OnBatchEnd = (batch, _, context) =>
            {
                if (context.Epoch < 15) return;
                if (batch == 0) before = GC.GetAllocatedBytesForCurrentThread();
                if (batch == 5)
                {
                    long window = GC.GetAllocatedBytesForCurrentThread() - before;
                    allocated = allocated < 0 ? window : Math.Min(allocated, window);
                }
            },
        };
        model.Fit(data, 20, new Sgd(0.05, momentum: 0.9), verbose: 0, callbacks: [probe], distributed: mpi);
        File.WriteAllText(Path.Combine(directory, $"allocated-{mpi.Rank}.txt"), allocated.ToString(System.Globalization.CultureInfo.InvariantCulture));
        break;
    }
    case "syncbn" or "plainbn":
    {
        Model model = scenario == "syncbn" ? new ReplicaSyncBnNet(batchSize: 16, seed: 3) : new ReplicaPlainBnNet(batchSize: 16, seed: 3);
        model.Fit(ReplicaData.Images(193, 7), 3, new Sgd(0.05, momentum: 0.9), validation: ReplicaData.Images(37, 8), verbose: 0,
            callbacks: [new CsvLogger(Path.Combine(directory, scenario + "-history.csv"))], distributed: mpi);
        if (mpi.IsRoot) model.SaveWeights(Path.Combine(directory, scenario + ".safetensors"));
        break;
    }
    case "stateful":
    {
        var model = new ReplicaMlp(batchSize: 16, seed: 3) { Metrics = ReplicaData.StatefulMetrics() };
        model.Fit(train, 3, new Sgd(0.05, momentum: 0.9), validation: valid, verbose: 0,
            callbacks: [new CsvLogger(Path.Combine(directory, "stateful-history.csv"))], distributed: mpi);
        break;
    }
    case "weighted":
    {
        var model = new ReplicaMlp(batchSize: 16, seed: 3) { WeightedMetrics = ReplicaData.StatefulMetrics() };
        model.Fit(ReplicaData.WeightedWithZeros(train), 3, new Sgd(0.05, momentum: 0.9), validation: ReplicaData.WeightedWithZeros(valid), verbose: 0,
            callbacks: [new CsvLogger(Path.Combine(directory, "weighted-history.csv"))], distributed: mpi);
        break;
    }
    case "evaluate":
    {
        // Weighted accuracy divides by the sample weights' sum, which the ranks must sum too.
        var model = new ReplicaMlp(batchSize: 16, seed: 3) { Metrics = ReplicaData.StatefulMetrics(), WeightedMetrics = [Metric.Accuracy] };
        var result = model.Evaluate(ReplicaData.Weighted(valid), distributed: mpi);
        var lines = new System.Collections.Generic.List<string> { "loss " + result.Loss.ToString("R", System.Globalization.CultureInfo.InvariantCulture) };
        foreach (var (name, value) in result.Values) lines.Add(name + " " + value.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        File.WriteAllLines(Path.Combine(directory, $"evaluate-{mpi.Rank}.txt"), lines);
        break;
    }
    case "sources":
    {
        var model = new ReplicaMlp(batchSize: 16, seed: 3);
        var shard = mpi.Rank == 0 ? train.Take(96) : train.Skip(96);
        var validShard = mpi.Rank == 0 ? valid.Take(20) : valid.Skip(20);
        model.Fit(Pipeline.From(shard).Batch(16), 3, new Sgd(0.05, momentum: 0.9), validation: Pipeline.From(validShard).Batch(16),
            verbose: 0, distributed: mpi);
        if (mpi.IsRoot) model.SaveWeights(Path.Combine(directory, "sources.safetensors"));
        break;
    }
    case "stop":
    {
        var model = new ReplicaMlp(batchSize: 16, seed: 3);
        var optimizer = new Sgd(0.05);
        var stopper = new LambdaCallback
        {
            OnBatchEnd = (batch, _, context) =>
            {
                if (context.Rank == 1 && context.Epoch == 1 && batch == 2) context.StopTraining = true;
            },
        };
        var history = model.Fit(train, 5, optimizer, verbose: 0, callbacks: [stopper], distributed: mpi);
        Console.WriteLine($"rank {mpi.Rank}: {optimizer.Iterations} steps, {history.Epochs} epochs");
        break;
    }
    case "mismatch":
    {
        var model = new ReplicaMlp(batchSize: 16, seed: 3 + mpi.Rank);
        model.Fit(train, 1, new Sgd(0.05), verbose: 0, distributed: mpi);
        Console.WriteLine($"rank {mpi.Rank} finished");
        break;
    }
    default:
        Console.Error.WriteLine($"unknown scenario '{scenario}'");
        return 2;
}
return 0;
