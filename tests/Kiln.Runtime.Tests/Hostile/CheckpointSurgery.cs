using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using Kiln.Runtime.Tests.Checkpoints;

namespace Kiln.Runtime.Tests.Hostile;

/// <summary>
/// Edits a safetensors file's header as JSON and writes it back, optionally with a fresh CRC: a
/// consistent file whose content is hostile, to reach the checks behind the CRC.
/// </summary>
internal static class CheckpointSurgery
{
    public static (JsonObject Header, byte[] Data) Open(byte[] file)
    {
        int n = (int)BinaryPrimitives.ReadInt64LittleEndian(file);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, n))!.AsObject();
        return (header, file[(8 + n)..]);
    }

    public static JsonObject Metadata(JsonObject header) => header["__metadata__"]!.AsObject();

    /// <summary>Writes the header and data back; with <paramref name="resign"/>, recomputes kiln.crc32c as a Kiln writer would.</summary>
    public static byte[] Save(JsonObject header, byte[] data, bool resign = true)
    {
        if (resign && Metadata(header).ContainsKey(SafeTensors.CrcKey))
        {
            var meta = Metadata(header);
            meta.Remove(SafeTensors.CrcKey);
            var entries = header.Where(p => p.Key != "__metadata__").Select(p => new SafeTensors.Entry(
                p.Key, (string)p.Value!["dtype"]!, p.Value!["shape"]!.AsArray().Select(d => (long)d!).ToArray(),
                (long)p.Value!["data_offsets"]![0]!, (long)p.Value!["data_offsets"]![1]!));
            var sorted = new SortedDictionary<string, string>(meta.ToDictionary(p => p.Key, p => (string)p.Value!), StringComparer.Ordinal);
            uint crc = Crc32C.Append(Crc32C.Start, SafeTensors.HeaderBytes(entries, sorted));
            meta[SafeTensors.CrcKey] = Crc32C.Finish(Crc32C.Append(crc, data)).ToString("x8", CultureInfo.InvariantCulture);
        }
        return Raw(header.ToJsonString(), data);
    }

    /// <summary>A file from a header written as text (duplicate keys and all) and data.</summary>
    public static byte[] Raw(string json, byte[] data)
    {
        byte[] text = Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + text.Length + data.Length];
        BinaryPrimitives.WriteInt64LittleEndian(file, text.Length);
        text.CopyTo(file, 8);
        data.CopyTo(file, 8 + text.Length);
        return file;
    }

    /// <summary>A file another tool might write for NoisyModel(4, 3): F32 tensors, no metadata, with <paramref name="kernelJson"/> as the kernel's entry.</summary>
    public static byte[] Foreign(string kernelKey = "\"dense/kernel\"", string kernelEntry = "{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]}") =>
        Raw("{" + kernelKey + ":" + kernelEntry + "," +
            "\"dense/bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[48,60]}," +
            "\"normalization/moving_mean\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[60,76]}}", new byte[76]);

    /// <summary>Everything a failed load must leave as it was.</summary>
    public sealed record Snapshot(float[] Parameters, float[] State, float[][] Optimizer, long Iterations, float LearningRate, (ulong, ulong, ulong, ulong) Rng)
    {
        public static Snapshot Of(Model model, Optimizer optimizer) => new(
            model.Parameters.Span.ToArray(), model.State.Span.ToArray(),
            optimizer.StateBuffers.Select(b => (float[])b.Clone()).ToArray(), optimizer.Iterations, optimizer.LearningRate, model.Random.State);

        public void AssertUnchanged(Model model, Optimizer optimizer)
        {
            Assert.Equal(Parameters, model.Parameters.Span.ToArray());
            Assert.Equal(State, model.State.Span.ToArray());
            Assert.Equal(Optimizer.Length, optimizer.StateBuffers.Count);
            for (int i = 0; i < Optimizer.Length; i++) Assert.Equal(Optimizer[i], optimizer.StateBuffers[i]);
            Assert.Equal(Iterations, optimizer.Iterations);
            Assert.Equal(LearningRate, optimizer.LearningRate);
            Assert.Equal(Rng, model.Random.State);
        }
    }
}
