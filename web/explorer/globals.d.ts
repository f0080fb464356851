// The globals of the scripts the explorer page loads before explore.js, for the type check
// of explore.js (npm run typecheck): Apache ECharts' own types, and the part of Papa Parse used.
export {};

declare global {
  const echarts: typeof import('echarts');
  const Papa: {
    parse(text: string, config: { header: true; skipEmptyLines: boolean }): { data: Record<string, string>[] };
  };
}
