namespace Kiln.Graph { internal static class Placeholder { } }
