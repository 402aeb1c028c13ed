using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using Kiln.Runtime.Tests.Checkpoints;
using Kiln.Runtime.Tests.Training;
using static Kiln.Runtime.Tests.Hostile.CheckpointSurgery;

namespace Kiln.Runtime.Tests.Hostile;

/// <summary>Issue 16's checkpoint findings: wrong exception types, duplicates, edits the data CRC missed, sizes taken on trust, stale temporaries.</summary>
public class HostileCheckpointTests
{
    private static readonly Dataset Data = FitTests.Blobs(32, 3);

    /// <summary>An Adam checkpoint after 8 steps, with a history, and its bytes.</summary>
    private static byte[] AdamCheckpoint(TempDirectory dir)
    {
        var model = new NoisyModel(4, 3, 8, 1);
        var adam = new Adam(0.01f);
        var history = model.Fit(Data, 2, adam, verbose: 0);
        string path = dir.File("adam.safetensors");
        model.SaveCheckpoint(path, adam, epoch: 2, history);
        return File.ReadAllBytes(path);
    }

    /// <summary>A trained model and optimizer that a bad file must leave untouched.</summary>
    private static (NoisyModel, Adam, Snapshot) Target()
    {
        var model = new NoisyModel(4, 3, 8, 5);
        var adam = new Adam(0.02f);
        model.Fit(Data, 1, adam, verbose: 0);
        return (model, adam, Snapshot.Of(model, adam));
    }

    private static InvalidDataException Refused(TempDirectory dir, string name, byte[] file, string because, bool weightsToo = true, long allocationBudget = 4 << 20)
    {
        string path = dir.File(name);
        File.WriteAllBytes(path, file);
        var (model, adam, before) = Target();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => model.LoadCheckpoint(path, adam));
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.Contains(name, e.Message);
        Assert.Contains(because, e.Message);
        Assert.True(allocated < allocationBudget, $"{name}: allocated {allocated:N0} bytes before refusing");
        before.AssertUnchanged(model, adam);
        if (!weightsToo) return e; // the optimizer's scalars are no concern of LoadWeights
        var weights = model.Parameters.Span.ToArray();
        Assert.Throws<InvalidDataException>(() => model.LoadWeights(path));
        Assert.Equal(weights, model.Parameters.Span.ToArray());
        return e;
    }

    [Fact]
    public void HeaderTextTheJsonReaderCannotTranscodeIsInvalidData()
    {
        using var dir = new TempDirectory();
        // One flipped bit in a name: 'd' (0x64) becomes 0xE4, a UTF-8 lead byte with no continuation.
        byte[] flipped = Foreign();
        int at = Encoding.ASCII.GetString(flipped).IndexOf("dense/kernel", StringComparison.Ordinal);
        flipped[at] ^= 0x80;
        Refused(dir, "utf8.safetensors", flipped, "not a valid safetensors file");
        Refused(dir, "surrogate.safetensors", Foreign("\"dense/\\ud800kernel\""), "not valid Unicode");
        Refused(dir, "string-shape.safetensors", Foreign(kernelEntry: "{\"dtype\":\"F32\",\"shape\":[\"4\",3],\"data_offsets\":[0,48]}"), "not a count");
        Refused(dir, "null-offset.safetensors", Foreign(kernelEntry: "{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[null,48]}"), "invalid data_offsets");
        Refused(dir, "overflow.safetensors", Foreign(kernelEntry: "{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,48]}"), "more elements than any file holds");
    }

    [Fact]
    public void DuplicateNamesAreRefused()
    {
        using var dir = new TempDirectory();
        string entry = "{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[76,88]}";
        string json = "{\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]}," +
                      "\"dense/bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[48,60]}," +
                      "\"normalization/moving_mean\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[60,76]}," +
                      "\"dense/bias\":" + entry + "}";
        Refused(dir, "twice.safetensors", Raw(json, new byte[88]), "'dense/bias' appears twice");
        var twoMeta = Foreign();
        string foreign = Encoding.UTF8.GetString(twoMeta, 8, twoMeta.Length - 8 - 76);
        Refused(dir, "meta.safetensors", Raw("{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"b\":\"2\"}," + foreign[1..], new byte[76]), "two __metadata__");
        Refused(dir, "metakey.safetensors", Raw("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}," + foreign[1..], new byte[76]), "'a' appears twice");
    }

    [Fact]
    public void TheCrcCoversTheHeader()
    {
        using var dir = new TempDirectory();
        byte[] good = AdamCheckpoint(dir);

        // Adam's m and v swapped: the data is intact, only two names changed places.
        var (h, data) = Open(good);
        var m = h["optimizer.state.0"]!.DeepClone();
        h["optimizer.state.0"] = h["optimizer.state.1"]!.DeepClone();
        h["optimizer.state.1"] = m;
        Refused(dir, "swapped.safetensors", Save(h, data, resign: false), "CRC-32C of its header and data");

        (h, data) = Open(good);
        Metadata(h)["kiln.optimizer.learning_rate"] = "10";
        Refused(dir, "rate.safetensors", Save(h, data, resign: false), "edited");

        // One bit renames kiln.history, which used to drop the history silently.
        byte[] renamed = (byte[])good.Clone();
        int at = Encoding.ASCII.GetString(renamed).IndexOf("kiln.history", StringComparison.Ordinal);
        renamed[at + 5] ^= 0x01; // 'h' → 'i'
        Refused(dir, "history.safetensors", renamed, "CRC-32C");

        // Turning the check off needs the version and the key changed together; one alone is caught.
        (h, data) = Open(good);
        Metadata(h).Remove(SafeTensors.CrcKey);
        Refused(dir, "nocrc.safetensors", Save(h, data, resign: false), "carries 'kiln.crc32c'");
        (h, data) = Open(good);
        Metadata(h)["kiln.version"] = "3";
        Refused(dir, "v3.safetensors", Save(h, data, resign: false), "versions 1 and 2");
    }

    [Fact]
    public void VersionOneCheckpointsStillLoad()
    {
        using var dir = new TempDirectory();
        var (h, data) = Open(AdamCheckpoint(dir));
        var meta = Metadata(h);
        meta.Remove(SafeTensors.CrcKey);
        meta["kiln.version"] = "1";
        meta[SafeTensors.DataCrcKey] = Crc32C.Compute(data).ToString("x8");
        File.WriteAllBytes(dir.File("v1.safetensors"), Save(h, data, resign: false));
        var (model, adam, _) = Target();
        var info = model.LoadCheckpoint(dir.File("v1.safetensors"), adam);
        Assert.Equal(2, info.Epoch);
        Assert.Equal(2, info.History!.Epochs);

        data[5] ^= 1;
        Refused(dir, "v1-flipped.safetensors", Save(h, data, resign: false), "the data's CRC-32C");
    }

    [Fact]
    public void ScalarsAndNamesAreCheckedAgainstTheOptimizerBeforeAnythingIsAllocated()
    {
        using var dir = new TempDirectory();
        byte[] good = AdamCheckpoint(dir);
        byte[] Edited(Action<JsonObject> edit)
        {
            var (h, data) = Open(good);
            edit(h);
            return Save(h, data);
        }

        Refused(dir, "arrays.safetensors", Edited(h => Metadata(h)["kiln.optimizer.state_arrays"] = "2147483647"), "keeps 2", weightsToo: false);
        Refused(dir, "iterations.safetensors", Edited(h =>
        {
            Metadata(h)["kiln.optimizer.iterations"] = long.MaxValue.ToString();
            Metadata(h)["kiln.step"] = long.MaxValue.ToString();
        }), "counts exactly", weightsToo: false);
        Refused(dir, "step.safetensors", Edited(h => Metadata(h)["kiln.step"] = "9"), "differ", weightsToo: false);
        Refused(dir, "zeros.safetensors", Edited(h =>
        {
            var v = h["optimizer.state.1"]!;
            h.Remove("optimizer.state.1");
            h["optimizer.state.01"] = v.DeepClone();
        }), "unexpected optimizer tensor 'optimizer.state.01'", weightsToo: false);
        Refused(dir, "future.safetensors", Edited(h => Metadata(h)["kiln.epoch"] = "1"), "records 2 epochs", weightsToo: false);
    }

    [Fact]
    public void AHugeEpochResumesWithoutAllocatingAHistoryOfThatLength()
    {
        using var dir = new TempDirectory();
        var (h, data) = Open(AdamCheckpoint(dir));
        Metadata(h)["kiln.epoch"] = int.MaxValue.ToString();
        File.WriteAllBytes(dir.File("late.safetensors"), Save(h, data));
        var model = new NoisyModel(4, 3, 8, 1);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var history = model.Fit(Data, 3, new Adam(0.01f), verbose: 0, resumeFrom: dir.File("late.safetensors"));
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.Equal(2, history.Epochs); // the recorded ones; nothing left to run
        Assert.True(allocated < 4 << 20, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void SetStateRefusesAnIterationCountPastExactCounting()
    {
        var adam = new Adam();
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.SetState([new float[3], new float[3]], long.MaxValue));
    }

    [Fact]
    public void TheNextWriteRemovesTemporariesOfDeadWriters()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TempDirectory();
        string target = dir.File("w.safetensors");
        using var dead = Process.Start("true")!;
        dead.WaitForExit();
        using var alive = Process.Start("sleep", "30")!;
        try
        {
            string Temp(int pid) => dir.File($".w.safetensors.{pid}.{Guid.NewGuid():N}.tmp");
            string stale = Temp(dead.Id), ours = Temp(Environment.ProcessId), running = Temp(alive.Id);
            string other = dir.File($".other.safetensors.{dead.Id}.{Guid.NewGuid():N}.tmp");
            foreach (string f in new[] { stale, ours, running, other }) File.WriteAllBytes(f, new byte[1024]);

            new NoisyModel(4, 3, 8, 1).SaveWeights(target);
            Assert.False(File.Exists(stale));
            Assert.False(File.Exists(ours)); // our PID, but not a write in flight: a dead process that had our PID
            Assert.True(File.Exists(running)); // its writer may still finish
            Assert.True(File.Exists(other)); // another target's
        }
        finally
        {
            alive.Kill();
        }
    }
}
