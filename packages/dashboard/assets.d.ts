/** Absolute path of the folder holding index.html and the built bundle. */
export declare const dashboardAssetsDir: string;
